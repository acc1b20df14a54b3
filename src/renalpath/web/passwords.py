"""Password hashes (Argon2), computed in the hash process once the web server turns it on.

Argon2 is slow and memory-hard on purpose, and one hash runs its four lanes on native threads:
a login storm hashing in the server's own process takes the CPU from the event loop (and a
thread of the hash pool competes with it at the same priority).  In a child process at a lower
priority (`offload`, kind "hash") the storm gets only what the server leaves.  The CLI and
the tests' account fixtures hash here, in their own process, unless the server turned the
hash process on.
"""

from __future__ import annotations

from pwdlib import PasswordHash

from renalpath.web import offload

_LOCAL = PasswordHash.recommended()  # Argon2id with pwdlib's current defaults
_in_child_process = False


def use_hash_process(on: bool) -> None:
    """Hash in the hash process (the web server does at start) or in this one."""
    global _in_child_process
    _in_child_process = on


def _hash(password: str) -> str:
    return _LOCAL.hash(password)


def _verify(password: str, pw_hash: str) -> bool:
    return _LOCAL.verify(password, pw_hash)


class Passwords:
    """`hash` and `verify` of pwdlib's recommended hasher; blocking, so call from a thread."""

    def hash(self, password: str) -> str:
        if _in_child_process and offload.available():
            return offload.call("hash", _hash, password)
        return _hash(password)

    def verify(self, password: str, pw_hash: str) -> bool:
        if _in_child_process and offload.available():
            return offload.call("hash", _verify, password, pw_hash)
        return _verify(password, pw_hash)


PASSWORDS = Passwords()
