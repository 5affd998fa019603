"""m2m-auth: OAuth 2.0 machine-to-machine authorization server. Registers the routes
of :mod:`chalicelib.routes`; nothing else."""

from __future__ import annotations

from chalice.app import Chalice

from chalicelib.routes import edge
from chalicelib.routes.admin import admin
from chalicelib.routes.app_keys import app_keys
from chalicelib.routes.aws_principals import aws_principals
from chalicelib.routes.exchange_policies import exchange_policies
from chalicelib.routes.federation import federation
from chalicelib.routes.home_region import refuse_writes_outside_home
from chalicelib.routes.oauth import oauth
from chalicelib.routes.schedule import schedule
from chalicelib.routes.tls_clients import tls_clients

app = Chalice(app_name="m2m-auth")
app.register_blueprint(oauth)
app.register_blueprint(schedule)
app.register_blueprint(admin, url_prefix="/admin")
app.register_blueprint(app_keys, url_prefix="/admin")
app.register_blueprint(aws_principals, url_prefix="/admin")
app.register_blueprint(federation, url_prefix="/admin")
app.register_blueprint(tls_clients, url_prefix="/admin")
app.register_blueprint(exchange_policies, url_prefix="/admin")
app.register_middleware(refuse_writes_outside_home, "http")  # docs/multi-region.md
edge.install(app)  # last: Chalice's own answers (405, 415, 500) in this service's formats
