"""Extensions are created unbound here and bound in ``create_app``.

Keeping them in one module breaks import cycles between feature packages.
"""

from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from kudos.db import Database

db = Database()
login_manager = LoginManager()
csrf = CSRFProtect()
