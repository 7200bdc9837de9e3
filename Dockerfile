# One image for every service; the command picks which one runs.
FROM python:3.11-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core curl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY common ./common
COPY gateway ./gateway
COPY services ./services
COPY fakes ./fakes
RUN pip install --no-cache-dir .
RUN useradd --system --uid 10001 app
USER app
ENV HOST=0.0.0.0
