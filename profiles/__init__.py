"""Personalization memory: tables, learning, preferences, privacy, migrations.

Every table module is imported here so ``SQLModel.metadata`` always knows the whole schema
(export and deletion walk it; Alembic compares against it), whichever submodule is imported
first.
"""

import profiles.admin_models
import profiles.experiment_models  # noqa: F401  (registers the experiment tables)
