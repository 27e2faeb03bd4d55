"""The workspace: one folder per migration, holding its config, mapping, ledger and reports.

``WS/workspace.yaml`` names the source export, the destination account and the NAME of the
environment variable that holds the token — never the token itself, so the file can be shared
and papermill never sees a secret. Files are created readable by their owner only: the export
path and the ledger concern patients.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .config_schema import WORKSPACE_SCHEMA, read_checked
from .destinations import DestinationConfig
from .destinations import registry as destinations
from .errors import ConfigError
from .private_files import private_dir, write_private
from .sources import registry as sources

__all__ = ["Workspace", "init_workspace", "default_token_env"]

CONFIG_FILE = "workspace.yaml"


def default_token_env(destination: str) -> str:
    """The token variable ``init`` names for ``destination`` when given none (its package says)."""
    return destinations.get(destination).default_token_env or destination.upper().replace("-", "_") + "_TOKEN"


@dataclass
class Workspace:
    """A migration's folder and its configuration.

    Attributes:
        root: the workspace folder.
        source: registered source name.
        export: where the source data is (folder, or API base URL).
        destination: registered destination name.
        destination_config: how to reach the destination account.
        fallback_owner: email of the destination user who owns records whose source owner
            matches no destination user.
        extra: any other keys found in the file, kept on save.
        source_options: the ``source.options`` block (API sources: the NAMES of credential
            variables and similar settings; never a secret).
    """

    root: Path
    source: str
    export: str
    destination: str
    destination_config: DestinationConfig
    fallback_owner: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    source_options: dict[str, Any] = field(default_factory=dict)

    # --- paths ------------------------------------------------------------------------
    @property
    def mapping_path(self) -> Path:
        return self.root / "mapping.yaml"

    @property
    def source_state_dir(self) -> Path:
        """Where an API source keeps its token and checkpoints (created by the source, owner-only)."""
        return self.root / "source_state"

    @property
    def files_root(self) -> Path | None:
        """The folder file records' paths are relative to: the export folder, or for an API
        source the folder its downloads are written to. Nothing outside it is uploaded."""
        if "://" in self.export:
            return self.source_state_dir / "files"
        return Path(self.export)

    @property
    def ledger_path(self) -> Path:
        return self.root / "ledger.sqlite"

    @property
    def reports_dir(self) -> Path:
        path = self.root / "reports"
        private_dir(path)
        return path

    @property
    def inline_images_dir(self) -> Path:
        """Where pictures taken out of note text are written before upload (owner-only: clinical)."""
        path = self.root / "attachments" / "inline"
        private_dir(path.parent)
        private_dir(path)
        return path

    @property
    def runs_dir(self) -> Path:
        path = self.root / "runs"
        private_dir(path)
        return path

    # --- load / save ------------------------------------------------------------------
    @classmethod
    def load(cls, root: str | Path) -> "Workspace":
        """Read ``root/workspace.yaml``.

        Raises:
            ConfigError: no workspace there, or the file names an unknown source/destination.
        """
        root = Path(root).resolve()
        path = root / CONFIG_FILE
        if not path.is_file():
            raise ConfigError(f"{root} is not a workspace (no {CONFIG_FILE}); create one with `crm-migrate init`")
        data = read_checked(path, WORKSPACE_SCHEMA, ConfigError)
        try:
            src, dst = data["source"], data["destination"]
            ws = cls(
                root=root,
                source=src["name"],
                export=src["location"],
                destination=dst["name"],
                destination_config=DestinationConfig(
                    base_url=dst["base_url"], token_env=dst["token_env"], options=dst.get("options") or {}
                ),
                fallback_owner=(data.get("owner_resolution") or {}).get("fallback_user_email"),
                extra={k: v for k, v in data.items() if k not in {"source", "destination", "owner_resolution"}},
                source_options=dict(src.get("options") or {}),
            )
        except (KeyError, TypeError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: malformed workspace file ({exc})") from None
        sources.get(ws.source)
        destinations.get(ws.destination)
        return ws

    def save(self) -> None:
        data = {
            "source": {"name": self.source, "location": self.export,
                       **({"options": self.source_options} if self.source_options else {})},
            "destination": {
                "name": self.destination,
                "base_url": self.destination_config.base_url,
                "token_env": self.destination_config.token_env,
                "options": self.destination_config.options,
            },
            "owner_resolution": {"by": "email", "fallback_user_email": self.fallback_owner},
            **self.extra,
        }
        private_dir(self.root)
        write_private(self.root / CONFIG_FILE, yaml.safe_dump(data, sort_keys=False))

    @property
    def id(self) -> str:
        """The workspace's identity, which its ledger records; given to older workspaces on first use."""
        if not self.extra.get("workspace_id"):
            self.extra["workspace_id"] = uuid.uuid4().hex
            self.save()
        return str(self.extra["workspace_id"])

    # --- the things it names ------------------------------------------------------------
    def read_source(self):
        """Read the source into a :class:`~toolkit.shapes.Snapshot`."""
        return self.open_source().read(self.export)

    def open_source(self):
        """The source, given the workspace's ``source.options`` and its private state folder."""
        src = sources.get(self.source)()
        configure = getattr(src, "configure", None)
        if configure is not None:
            configure(state_dir=self.source_state_dir, options=dict(self.source_options))
        return src

    def connect(self, client=None):
        """The destination adapter for this workspace's account (token read from the env)."""
        self.destination_config.token()  # fail early, with the variable's name, if unset
        return destinations.get(self.destination)(self.destination_config, client)


def init_workspace(root: str | Path, *, source: str, export: str | Path, destination: str,
                   base_url: str | None = None, token_env: str | None = None,
                   options: dict[str, Any] | None = None, fallback_owner: str | None = None,
                   source_options: dict[str, Any] | None = None, practice_name: str | None = None) -> Workspace:
    """Create (or overwrite the config of) a workspace.

    ``source_options`` become the ``source.options`` block (e.g. which variables hold an API
    source's credentials); ``options`` are the destination's. ``practice_name`` is how every
    report names the practice (``practice_name:`` in workspace.yaml; default the folder's name).

    Raises:
        ConfigError: unknown source or destination, or an export folder that does not exist.
    """
    sources.get(source)
    destinations.get(destination)
    export_s = str(export)
    if "://" not in export_s:
        export_path = Path(export_s).resolve()
        if not export_path.is_dir():
            raise ConfigError(f"export folder {export_s} does not exist")
        export_s = str(export_path)
    ws = Workspace(
        root=Path(root).resolve(),
        source=source,
        export=export_s,
        destination=destination,
        destination_config=DestinationConfig(
            base_url=base_url or destinations.get(destination).default_base_url or "",
            token_env=token_env or default_token_env(destination),
            options=dict(options or {}),
        ),
        fallback_owner=fallback_owner,
        source_options=dict(source_options or {}),
    )
    previous = ws.root / CONFIG_FILE
    if previous.is_file():  # re-initialising keeps the workspace's identity (its ledger stays its own)
        try:
            old = (yaml.safe_load(previous.read_text(encoding="utf-8")) or {}).get("workspace_id")
        except yaml.YAMLError:
            old = None
        if old:
            ws.extra["workspace_id"] = old
    ws.extra.setdefault("workspace_id", uuid.uuid4().hex)
    if practice_name:
        ws.extra["practice_name"] = practice_name
    if not ws.destination_config.base_url:
        raise ConfigError(f"destination {destination} needs --base-url")
    ws.save()
    return ws
