"""``flask --app geocrm ...`` commands: thin wrappers over the services."""

from __future__ import annotations

import click
from flask import Flask

from geocrm.extensions import db


def register_cli(app: Flask) -> None:
    """Attach the commands to ``app``."""

    @app.cli.command("create-user")
    @click.option("--email", required=True)
    @click.option("--name", required=True)
    @click.option(
        "--role", type=click.Choice(["admin", "manager", "planner", "rep"]), required=True
    )
    @click.password_option()
    def create_user_command(email: str, name: str, role: str, password: str) -> None:
        """Create a user (asks for the password)."""
        from geocrm.auth.services import create_user
        from geocrm.errors import ValidationError

        try:
            user = create_user(email, name, password, role)
            db.session.commit()
        except ValidationError as err:
            raise click.ClickException(err.message) from err
        click.echo(f"Created {user.email} ({user.role.value}).")

    @app.cli.command("init-db")
    def init_db_command() -> None:
        """Create the schema by running the migrations (same as ``flask db upgrade``)."""
        from flask_migrate import upgrade

        upgrade()
        click.echo("Database is at the latest schema.")

    from geocrm.demo import demo_command
    from geocrm.imports.cli import import_accounts_command

    app.cli.add_command(demo_command)
    app.cli.add_command(import_accounts_command)
    app.cli.add_command(__import__("geocrm.api.tokens", fromlist=["x"]).create_token_command)
    app.cli.add_command(__import__("geocrm.jobs", fromlist=["x"]).worker_command)
