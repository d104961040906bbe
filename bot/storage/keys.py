"""Checks that the data key opens this database, and rotates it."""

from __future__ import annotations

from bot.storage.crypto import KEY_CHECK_PLAINTEXT, TextCipher, WrongKeyError
from bot.storage.database import Database, Tx
from bot.storage.member_data import reencrypt_all


async def _stored_check(tx: Tx) -> bytes | None:
    value = await tx.scalar("SELECT value FROM meta WHERE key = 'key_check'")
    return None if value is None else bytes(value)


async def verify_key(db: Database, cipher: TextCipher) -> None:
    """Refuse a key that does not open this database; record the check on first use.

    Nothing is written when the key is wrong.
    """
    async with db.read() as tx:
        stored = await _stored_check(tx)
    if stored is not None:
        try:
            ok = cipher.decrypt(stored) == KEY_CHECK_PLAINTEXT
        except WrongKeyError:
            ok = False
        if not ok:
            raise WrongKeyError(
                f"The data key does not open {db.label}: set CIRCLEKEEPER_DATA_KEY (or the key file "
                "beside the database) to the key this database was created with."
            )
        return
    async with db.transaction() as tx:
        await tx.execute(
            "INSERT INTO meta (key, value) VALUES ('key_check', ?) ON CONFLICT DO NOTHING",
            (cipher.encrypt(KEY_CHECK_PLAINTEXT),),
        )


async def rotate_key(db: Database, old: TextCipher, new: TextCipher) -> int:
    """Re-encrypt every stored text and the key check under `new`, in one transaction."""
    await verify_key(db, old)
    async with db.transaction() as tx:
        count = await reencrypt_all(tx, old, new)
        await tx.execute(
            "UPDATE meta SET value = ? WHERE key = 'key_check'", (new.encrypt(KEY_CHECK_PLAINTEXT),)
        )
    return count
