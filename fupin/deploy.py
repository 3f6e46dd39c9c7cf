"""`make deploy`: everything a Prefect server needs to run fupin, in one idempotent command.

Against ``PREFECT_API_URL``: the process work pool ``fupin``, the Secret block ``fupin-pii-key`` from
``FUPIN_PII_KEY`` (or the file named by ``FUPIN_PII_KEY_FILE``; the key is never printed), the
deployments of ``prefect.yaml``, and the automation ``fupin-nightly-failed`` that fires when a nightly
run ends Failed — it sends a notification through the block named by ``FUPIN_ALERT_BLOCK`` when set
(e.g. a Slack or e-mail block made with ``prefect block create``), otherwise it only records the event.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prefect.automations import Automation, DoNothing, EventTrigger, Posture, SendNotification
from prefect.blocks.system import Secret
from prefect.client.orchestration import get_client

from fupin.core.messages import say
from fupin.ephemeral import unreachable

PROJECT = Path(__file__).resolve().parents[1]
POOL = "fupin"
SECRET = "fupin-pii-key"
AUTOMATION = "fupin-nightly-failed"


def _prefect(*args: str) -> None:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "prefect"), "--no-prompt", *args],
        cwd=PROJECT,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(f"error: prefect {' '.join(args)} failed: {(done.stderr or done.stdout).strip()[-500:]}")


def _key() -> str | None:
    if os.environ.get("FUPIN_PII_KEY"):
        return os.environ["FUPIN_PII_KEY"]
    file = os.environ.get("FUPIN_PII_KEY_FILE")
    return Path(file).read_text(encoding="utf-8").strip() if file and Path(file).exists() else None


def save_secret() -> bool:
    """The PII key as a Secret block; False when no key is given (registries then wait for one)."""
    key = _key()
    if not key:
        return False
    if len(key) < 16:
        raise SystemExit("error: FUPIN_PII_KEY must be at least 16 characters")
    Secret(value=key).save(SECRET, overwrite=True)
    return True


def create_automation() -> str:
    """The automation on a Failed nightly run (replaced if it exists); returns what it does."""
    try:
        Automation.read(name=AUTOMATION).delete()
    except Exception:  # absent: nothing to replace
        pass
    action, does = DoNothing(), "records the event (set FUPIN_ALERT_BLOCK to be notified)"
    block = os.environ.get("FUPIN_ALERT_BLOCK")
    if block:
        with get_client(sync_client=True) as client:
            block_id = next((b.id for b in client.read_block_documents() if b.name == block), None)
        if block_id is None:
            raise SystemExit(f"error: no block named {block} on the server (FUPIN_ALERT_BLOCK)")
        action = SendNotification(
            block_document_id=block_id,
            subject="fupin 夜间运行失败 nightly run failed: {{ flow_run.name }}",
            body="{{ flow_run.state.message }}",
        )
        does = f"notifies through block {block}"
    Automation(
        name=AUTOMATION,
        description="A nightly fupin run ended Failed: a province's source or file failed (the others loaded).",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Failed"},
            match_related={"prefect.resource.role": "flow", "prefect.resource.name": "nightly"},
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[action],
    ).create()
    return does


def main() -> None:
    if not os.environ.get("PREFECT_API_URL"):
        raise SystemExit(
            "error: set PREFECT_API_URL to the Prefect server to deploy to (e.g. http://127.0.0.1:4200/api)"
        )
    why = unreachable(os.environ["PREFECT_API_URL"])
    if why:  # one line naming the server, before any step half-deploys (not a cut traceback of the first)
        raise SystemExit(say("server_unreachable", url=os.environ["PREFECT_API_URL"], error=why))
    os.environ.setdefault("FUPIN_PROJECT_DIR", str(PROJECT))
    _prefect("work-pool", "create", POOL, "--type", "process", "--overwrite")
    print(f"work pool {POOL}: ready")
    if save_secret():
        print(f"Secret block {SECRET}: saved from FUPIN_PII_KEY (value not shown)")
    else:
        print(f"Secret block {SECRET}: not saved — no FUPIN_PII_KEY; household registries wait until it exists")
    _prefect("deploy", "--all")
    print("deployments: nightly, backfill, rebuild-warehouse, approve, discard")
    print(f"automation {AUTOMATION}: {create_automation()}")
    print(f"next: FUPIN_PROJECT_DIR={PROJECT} prefect worker start --pool {POOL}")


if __name__ == "__main__":
    main()
