"""An independent peer for the reconnect bindings: a JSON-RPC 2.0 WebSocket server built on the
`websockets` library, speaking the same subset as the Rust test server (auth, subscribe,
unsubscribe, set_heartbeat with test_request, public/test, numbered data).

It listens on 127.0.0.1 with an ephemeral port and prints the port as the first line of stdout.
It runs until killed.

    python peer.py [--data-interval SECONDS] [--credentials JSON]
"""

import argparse
import asyncio
import json
import sys
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

# Last sequence number sent, per (client identity, channel): continues across connections.
SEQS = {}


def result(req_id, value):
    return json.dumps({"jsonrpc": "2.0", "id": req_id, "result": value})


def error(req_id, code, message):
    return json.dumps(
        {"jsonrpc": "2.0", "id": req_id, "error": {"code": code, "message": message}}
    )


class Session:
    def __init__(self, ws, client, args):
        self.ws = ws
        self.client = client
        self.args = args
        self.subscribed = []
        self.heartbeat_task = None
        self.awaiting_test = False

    async def data_loop(self):
        while True:
            await asyncio.sleep(self.args.data_interval)
            for channel in list(self.subscribed):
                key = (self.client, channel)
                seq = SEQS.get(key, 0) + 1
                SEQS[key] = seq
                await self.ws.send(
                    json.dumps(
                        {
                            "jsonrpc": "2.0",
                            "method": "subscription",
                            "params": {
                                "channel": channel,
                                "data": {"seq": seq, "payload": "data"},
                            },
                        }
                    )
                )

    async def heartbeat_loop(self, interval):
        while True:
            await asyncio.sleep(interval)
            if self.awaiting_test:
                await self.ws.close(4000, "heartbeat_timeout")
                return
            self.awaiting_test = True
            await self.ws.send(
                json.dumps(
                    {"jsonrpc": "2.0", "method": "heartbeat", "params": {"type": "test_request"}}
                )
            )

    def handle(self, msg):
        """Returns the response text for one request, or None."""
        try:
            req = json.loads(msg)
        except ValueError:
            return None
        if not isinstance(req, dict) or "method" not in req or "id" not in req:
            return None
        req_id, method = req["id"], req["method"]
        params = req.get("params") or {}
        if method == "public/auth":
            if self.args.credentials is not None and params != self.args.credentials:
                return error(req_id, 13004, "invalid_credentials")
            return result(req_id, {"access_token": "peer-" + self.client, "expires_in": 900})
        if method == "public/subscribe":
            channels = [c for c in params.get("channels", []) if isinstance(c, str)]
            for c in channels:
                if c not in self.subscribed:
                    self.subscribed.append(c)
            return result(req_id, channels)
        if method == "public/unsubscribe":
            channels = [c for c in params.get("channels", []) if isinstance(c, str)]
            self.subscribed = [c for c in self.subscribed if c not in channels]
            return result(req_id, channels)
        if method == "public/set_heartbeat":
            interval = params.get("interval")
            if not isinstance(interval, (int, float)) or interval <= 0:
                return error(req_id, -32602, "interval must be a positive number")
            if self.heartbeat_task is not None:
                self.heartbeat_task.cancel()
            self.awaiting_test = False
            self.heartbeat_task = asyncio.ensure_future(
                self.heartbeat_loop(max(float(interval), 0.01))
            )
            return result(req_id, "ok")
        if method == "public/test":
            self.awaiting_test = False
            return result(req_id, {"version": "1.0.0"})
        return error(req_id, -32601, "Method not found")


def make_handler(args):
    async def handler(ws):
        query = parse_qs(urlsplit(ws.request.path).query)
        client = (query.get("client") or ["anonymous"])[0] or "anonymous"
        session = Session(ws, client, args)
        data = asyncio.ensure_future(session.data_loop())
        try:
            async for msg in ws:
                if isinstance(msg, str):
                    reply = session.handle(msg)
                    if reply is not None:
                        await ws.send(reply)
        except ConnectionClosed:
            pass
        finally:
            data.cancel()
            if session.heartbeat_task is not None:
                session.heartbeat_task.cancel()

    return handler


async def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-interval", type=float, default=0.02)
    parser.add_argument("--credentials", type=json.loads, default=None)
    args = parser.parse_args()
    async with serve(make_handler(args), "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)
        await asyncio.get_running_loop().create_future()  # until killed


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
