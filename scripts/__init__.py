"""Developer scripts: `make run`'s local servers (local_infra.py), a fresh .env (new_env.py)."""
