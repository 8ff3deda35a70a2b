"""A one-agent Faust app for the smoke test: forwards each value from IN to OUT, upper-cased."""

import os

import faust

from processor.kafka_security import KafkaSecurity
from processor.settings import Settings

app = faust.App(
    os.environ["ECHO_APP_ID"],
    broker=f"kafka://{os.environ['KAFKA_BOOTSTRAP_SERVERS']}",
    broker_credentials=KafkaSecurity.from_settings(Settings()).faust_credentials(),
    web_enabled=False,
    topic_replication_factor=1,
    value_serializer="raw",
)
source = app.topic(os.environ["ECHO_IN"], value_type=bytes, value_serializer="raw")
sink = app.topic(os.environ["ECHO_OUT"], value_type=bytes, value_serializer="raw")


@app.agent(source)
async def echo(stream):  # type: ignore[no-untyped-def]
    async for value in stream:
        await sink.send(value=value.upper())
