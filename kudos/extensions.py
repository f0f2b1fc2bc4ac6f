"""Extensions are created unbound here and bound in ``create_app``.

Keeping them in one module breaks import cycles between feature packages.
"""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from kudos.db import Database

db = Database()
login_manager = LoginManager()
csrf = CSRFProtect()
# Limits are declared on views (kudos/ratelimit.py), each with its own key.
limiter = Limiter(key_func=get_remote_address)
