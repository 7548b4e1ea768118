import logging, subprocess, time
from sqlalchemy import text
from domain.outbox import create_notice
from models import Audience, NoticeKind
from tests.test_notices_helpers import T0, bulk_followers, world
from tests.test_sender_kill import SHANGLIANG, sender_env, write_config


def test_bench(db, services, fake_wechat, tmp_path):
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    w = world(db, followers=0)
    bulk_followers(db, w["v1"], 2000)
    create_notice(db, org=w["v1"], kind=NoticeKind.GENERAL, audience=Audience.FOLLOWERS, title="x",
                  body="y", now=T0, public_days=7)
    db.commit()
    config = write_config(tmp_path / "s.toml", services)
    for conc, procs in (("4", 1), ("8", 1), ("16", 1), ("8", 2), ("4", 2)):
        db.execute(text("update deliveries set status='pending', claimed_by=null, lease_until=null")); db.commit()
        t = time.monotonic()
        ps = [subprocess.Popen([SHANGLIANG, "sender", "--once", "--concurrency", conc], env=sender_env(config), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(procs)]
        for p in ps: p.wait()
        print("conc", conc, "procs", procs, "elapsed", round(time.monotonic() - t, 1))
