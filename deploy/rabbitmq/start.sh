#!/bin/sh
# docker-compose's RabbitMQ: fill the passwords into the definitions (the vhost sms-credits, a user per
# service with its permissions, the admin; written by `python -m scripts.provision definitions`), which the
# node loads at boot (sms-credits.conf: load_definitions), then start it as the image would. Loaded at every
# boot, so a changed password is a rotation. The passwords go into URLs too: letters, digits, - _ . ~ only.
set -eu
rendered=/tmp/sms-credits-definitions.json
cp /etc/rabbitmq/sms-credits/definitions.json "$rendered"
for variable in $(grep -o '\${[A-Z_]*}' "$rendered" | tr -d '${}' | sort -u); do
    eval "value=\${$variable:-}"
    case "$value" in
        "" ) echo "rabbitmq: $variable is not set (python -m scripts.provision passwords --env-file .env)" >&2; exit 1 ;;
        *[!A-Za-z0-9._~-]* ) echo "rabbitmq: $variable may hold only letters, digits and - _ . ~" >&2; exit 1 ;;
    esac
    sed -i "s/\${$variable}/$value/g" "$rendered"
done
chmod 600 "$rendered"
exec docker-entrypoint.sh rabbitmq-server
