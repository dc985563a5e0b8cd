"""captcha media kept with their challenge

- ``captcha_challenges.image_png`` / ``audio_wav``: the challenge's image and sound, drawn
  on their first fetch and read back afterwards (the sound costs ~215 ms of CPU), emptied
  when the challenge is answered and gone with the row when it expires. NULL until fetched.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("captcha_challenges") as batch:
        batch.add_column(sa.Column("image_png", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("audio_wav", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("captcha_challenges") as batch:
        batch.drop_column("audio_wav")
        batch.drop_column("image_png")
