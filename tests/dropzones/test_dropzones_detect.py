"""Events cut latency: watchdog for local folders, S3 notifications through SQS."""

from __future__ import annotations

import json
import os
import time

from dropzone_helpers import BackgroundWorker, open_dz, rows, tree, wait_for, zone_conf


def _done(dz, key):
    return [r for r in rows(dz) if r["key"] == key and r["state"] == "done"]


def test_watchdog_sees_renamed_in_and_growing_files_once_complete(data_dir, database_url, tmp_path):
    root = tmp_path / "zone"
    (root / "incoming").mkdir(parents=True)
    # scans only at start: anything after that is found through watchdog events
    conf = zone_conf("live", str(root), quiet_period=0.6, scan_interval=3600)
    with open_dz(data_dir, database_url, [conf]) as dz:
        with BackgroundWorker(dz, track=False, poll_seconds=0.2):
            staged = tmp_path / "staged.txt"
            staged.write_text("renamed into the zone")
            os.rename(staged, root / "incoming" / "renamed.txt")
            wait_for(lambda: _done(dz, "renamed.txt"))

            chunks = 8
            with open(root / "incoming" / "growing.txt", "wb") as f:
                for i in range(chunks):
                    f.write(f"chunk {i}\n".encode() * 100)
                    f.flush()
                    time.sleep(0.2)
            (row,) = wait_for(lambda: _done(dz, "growing.txt"))
            assert row["size"] == sum(len(f"chunk {i}\n".encode()) * 100 for i in range(chunks))
        ledger = rows(dz)
    assert [r["key"] for r in ledger] == ["renamed.txt", "growing.txt"]
    assert tree(root)["incoming"] == []


def test_s3_event_notifications_through_sqs(
    data_dir, database_url, s3_bucket, moto_s3, monkeypatch
):
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", moto_s3.url)
    with open_dz(data_dir, database_url, [], object_store={"endpoint_url": moto_s3.url}) as setup:
        sqs, s3 = setup.sm.sqs_client(), setup.sm.s3_client()
        queue = sqs.create_queue(QueueName=f"q-{s3_bucket}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        s3.put_bucket_notification_configuration(
            Bucket=s3_bucket,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {"QueueArn": arn["Attributes"]["QueueArn"], "Events": ["s3:ObjectCreated:*"]}
                ]
            },
        )
    conf = zone_conf("events", f"s3://{s3_bucket}/z/", sqs_queue_url=queue, scan_interval=3600)
    with open_dz(data_dir, database_url, [conf], object_store={"endpoint_url": moto_s3.url}) as dz:
        with BackgroundWorker(dz, track=False, poll_seconds=0.2) as worker:
            wait_for(lambda: worker.summary.scans)  # the start-up scan is over
            s3 = dz.sm.s3_client()
            s3.put_object(Bucket=s3_bucket, Key="z/incoming/by event + space.txt", Body=b"hi")
            s3.put_object(Bucket=s3_bucket, Key="elsewhere/ignored.txt", Body=b"no")
            wait_for(lambda: _done(dz, "by event + space.txt"))
        ledger = rows(dz)
        history = dz.history("by event + space.txt")
    assert len(ledger) == 1
    assert history[0]["events"][0]["detail"] == {"by": "event"}
    assert json.dumps(history, default=str).count('"claimed"') == 1
