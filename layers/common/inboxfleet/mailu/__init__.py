"""The Mailu mail server: rendering its files (pure) and installing it over SSH (paramiko)."""
