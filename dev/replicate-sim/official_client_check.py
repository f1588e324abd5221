"""Replicate's official Python client, unchanged, against the simulator.

If the simulator drifts from Replicate's API (paths, status codes, problem
bodies, prediction fields, sync mode, webhook signing), the client fails
here the way it would fail against a wrong server. Run by
dev/scripts/sim-official-client.sh with SIM_URL and SIM_TOKEN set.
"""

import http.server
import json
import os
import queue
import sys
import threading
import urllib.request

import replicate
from replicate.exceptions import ReplicateError
from replicate.webhook import Webhooks

SIM_URL = os.environ["SIM_URL"].rstrip("/")
MODEL = "google/nano-banana"
client = replicate.Client(api_token=os.environ["SIM_TOKEN"], base_url=SIM_URL)


def control(path, body=None):
    """The simulator's own test hooks (not part of Replicate's API)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{SIM_URL}/_sim/{path}", data=data, method="POST" if data else "GET")
    request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print(f"ok  {what}")


def run_in_sync_mode():
    output = client.run(MODEL, input={"prompt": "a calm living room", "aspect_ratio": "4:3"})
    # The client wraps https: URLs in FileOutput; the simulator serves http:,
    # which it hands back as the plain URL string.
    url = output if isinstance(output, str) else output.url
    check(url.startswith(f"{SIM_URL}/delivery/"), "run() answers the output URL in sync mode")
    with urllib.request.urlopen(url, timeout=10) as response:
        check(response.read()[:3] == b"\xff\xd8\xff", "the output reads as a JPEG")


def create_wait_and_webhook():
    received = queue.Queue()

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["content-length"]))
            received.put(({k.lower(): v for k, v in self.headers.items()}, body.decode()))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        prediction = client.models.predictions.create(
            model=MODEL,
            input={"prompt": "a bright kitchen"},
            webhook=f"http://127.0.0.1:{server.server_port}/hook",
            webhook_events_filter=["completed"],
        )
        check(prediction.status in ("starting", "processing"), "create answers an unfinished prediction")
        check(set(prediction.urls) >= {"get", "cancel", "web"}, "urls has get, cancel and web")
        prediction.wait()
        check(prediction.status == "succeeded", "wait() polls to succeeded")
        headers, body = received.get(timeout=10)
        secret = client.webhooks.default.secret()
        Webhooks.validate(headers=headers, body=body, secret=secret)
        check(True, "the completed webhook validates with the client's Webhooks.validate")
        check(json.loads(body)["id"] == prediction.id, "the webhook carries the prediction")
    finally:
        server.shutdown()


def cancel_a_running_prediction():
    control("behaviour", {"behaviour": {"processing_ms": 10000}, "count": 1})
    prediction = client.models.predictions.create(model=MODEL, input={"prompt": "slow"})
    prediction.cancel()
    prediction.reload()
    check(prediction.status == "canceled", "cancel() then reload() reads canceled")


def errors_are_replicate_errors():
    try:
        client.models.predictions.create(model=MODEL, input={"aspect_ratio": "1:1"})
    except ReplicateError as error:
        check(error.status == 422 and "prompt" in (error.detail or ""), "a bad input is a ReplicateError 422 with detail")
    else:
        raise AssertionError("a create without prompt succeeded")
    try:
        client.models.predictions.create(model="google/no-such-model", input={"prompt": "p"})
    except ReplicateError as error:
        check(error.status == 404, "an unknown model is a ReplicateError 404")
    else:
        raise AssertionError("a create for an unknown model succeeded")
    try:
        replicate.Client(api_token="r8_wrong", base_url=SIM_URL).predictions.get("abc")
    except ReplicateError as error:
        check(error.status == 401 and error.title == "Unauthorized", "a wrong token is a ReplicateError 401")
    else:
        raise AssertionError("a wrong token was accepted")


def main():
    control("reset", {})
    for step in (run_in_sync_mode, create_wait_and_webhook, cancel_a_running_prediction, errors_are_replicate_errors):
        step()
    print(f"replicate {replicate.__about__.__version__}: all checks passed")


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # noqa: BLE001 - report any failure and exit non-zero
        print(f"FAILED: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)
