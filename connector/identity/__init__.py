"""Who is calling: every DSP request is resolved to a participant before protocol code sees it.

``Authenticator`` is the interface. This package ships the static-token implementation (dev,
tests, the TCK); signed identity tokens plug in behind the same interface.
"""

from connector.identity.auth import Authenticator, Participant, StaticTokenAuthenticator

__all__ = ["Authenticator", "Participant", "StaticTokenAuthenticator"]
