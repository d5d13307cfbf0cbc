#!/usr/bin/env python3
"""A third-party chat peer for Banter's end-to-end tests: plain slixmpp (PyPI) with its own
plugins for corrections (XEP-0308), retractions (XEP-0424), reactions (XEP-0444), replies
(XEP-0461 with XEP-0428 fallbacks) and displayed markers (XEP-0333). Nothing of the XEPs is
written here: each stanza is built and read by slixmpp's plugins.

Usage:
  slix_chat.py --jid bob@example.test --password-file F --server 127.0.0.1:PORT --ca-file CERT.pem

stdin commands (one JSON object a line; "tag" is copied into the answer):
  {"cmd":"send","to":JID,"body":TEXT}                    a markable chat message
  {"cmd":"send_oob","to":JID,"url":URL}                  a file as Conversations sends one (XEP-0066)
  {"cmd":"correct","to":JID,"id":ID,"body":TEXT}         corrects our message ID
  {"cmd":"reply","to":JID,"id":ID,"quote":TEXT,"body":TEXT}  answers message ID, quoting it
  {"cmd":"react","to":JID,"id":ID,"reactions":[..]}     our whole set of reactions to ID
  {"cmd":"retract","to":JID,"id":ID}                    retracts our message ID
  {"cmd":"displayed","to":JID,"id":ID}                  says we showed message ID
  {"cmd":"set_avatar","png":BASE64}                     publishes our picture (XEP-0084)
  {"cmd":"set_vcard_avatar","png":BASE64}               our picture in our vCard only, its hash in
                                                         our presence (XEP-0153, as older clients)
  {"cmd":"upload","to":JID,"path":P}                     uploads file P with slixmpp's XEP-0363
                                                         plugin, sends its URL (body and OOB);
                                                         "sent" carries the "url" too
  {"cmd":"download","url":U,"path":P}                    GETs U (aiohttp, our CA) into P, then
                                                         {"event":"downloaded","sha256":..,"size":..}
  {"cmd":"quit"}
  Each prints {"event":"sent","id":..} once written.

stdout events (one JSON object a line):
  {"event":"ready","jid":FULL}
  {"event":"message","from":..,"id":..,"type":..,"body":..|null,"markable":bool,
   "replace":ID|null,"reply":{"id","to","body"}|null,"reactions":{"id","values"}|null,
   "retract":ID|null,"displayed":ID|null,"oob":URL|null}   every 1:1 message stanza with any of these
  {"event":"avatar","from":BARE,"id":SHA1|null}   a contact's picture changed (XEP-0084)
  {"event":"error","message":..}
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import logging
import os
import secrets
import signal
import ssl
import sys
import threading
from typing import Any, Dict

import slixmpp
from slixmpp.jid import JID
from slixmpp.plugins.xep_0444 import XEP_0444
from slixmpp.stanza import Message
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

_out_lock = threading.Lock()


def emit(obj: Dict[str, Any]) -> None:
    with _out_lock:
        sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
        sys.stdout.flush()


def has(msg: Message, path: str) -> bool:
    return msg.xml.find(path) is not None


class Peer(slixmpp.ClientXMPP):
    def __init__(self, args: argparse.Namespace, password: str) -> None:
        super().__init__(f"{args.jid}/{args.resource}", password)
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=args.ca_file)
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        self.ssl_context = ctx
        self.enable_direct_tls = False
        self.enable_starttls = True
        self.enable_plaintext = False
        self.auto_authorize = True
        self.auto_subscribe = True
        self.commands: asyncio.Queue = asyncio.Queue()
        self.done = asyncio.Event()
        for plugin in ("xep_0030", "xep_0054", "xep_0060", "xep_0066", "xep_0084", "xep_0115",
                       "xep_0153", "xep_0163",
                       "xep_0199", "xep_0308", "xep_0363", "xep_0333", "xep_0334",
                       "xep_0359", "xep_0424", "xep_0428", "xep_0444", "xep_0461"):
            self.register_plugin(plugin)
        self.add_event_handler("session_start", self.on_session_start)
        self.add_event_handler("avatar_metadata_publish", self.on_avatar)
        self.add_event_handler("failed_auth", lambda _e: self.fail("authentication failed"))
        self.register_handler(Callback(
            "Chat peer messages", MatchXPath("{jabber:client}message"), self.on_message))

    def fail(self, message: str) -> None:
        emit({"event": "error", "message": message})
        self.done.set()

    async def on_session_start(self, _event: Any) -> None:
        await self.get_roster()
        self.send_presence()
        emit({"event": "ready", "jid": str(self.boundjid)})
        asyncio.ensure_future(self.command_loop())

    def on_avatar(self, msg: Message) -> None:
        item = msg["pubsub_event"]["items"]["item"]
        ids = [i["id"] for i in item["avatar_metadata"]["items"]]
        emit({"event": "avatar", "from": msg["from"].bare, "id": ids[0] if ids else None})

    def on_message(self, msg: Message) -> None:
        if msg["type"] in ("error", "groupchat"):
            return
        report: Dict[str, Any] = {
            "event": "message", "from": str(msg["from"]), "id": msg["id"] or None,
            "type": msg["type"] or None, "body": msg["body"] or None,
            "markable": has(msg, "{urn:xmpp:chat-markers:0}markable"),
            "replace": None, "reply": None, "reactions": None, "retract": None, "displayed": None,
            "oob": None,
        }
        if has(msg, "{jabber:x:oob}x"):
            report["oob"] = msg["oob"]["url"] or None
        if has(msg, "{urn:xmpp:message-correct:0}replace"):
            report["replace"] = msg["replace"]["id"]
        if has(msg, "{urn:xmpp:reply:0}reply"):
            report["reply"] = {"id": msg["reply"]["id"], "to": str(msg["reply"]["to"]) or None,
                               "body": msg["reply"].strip_fallback_content()}
        if has(msg, "{urn:xmpp:reactions:0}reactions"):
            report["reactions"] = {"id": msg["reactions"]["id"],
                                   "values": sorted(r["value"] for r in msg["reactions"])}
        if has(msg, "{urn:xmpp:message-retract:1}retract"):
            report["retract"] = msg["retract"]["id"]
        if has(msg, "{urn:xmpp:chat-markers:0}displayed"):
            report["displayed"] = msg["displayed"]["id"]
        if report["body"] is None and all(report[k] is None for k in
                                          ("replace", "reply", "reactions", "retract", "displayed")):
            return  # chat states, receipts, ...
        emit(report)

    async def command_loop(self) -> None:
        while True:
            cmd = await self.commands.get()
            if cmd is None or cmd.get("cmd") == "quit":
                self.disconnect()
                self.done.set()
                return
            try:
                if cmd.get("cmd") == "set_avatar":
                    await self.set_avatar(cmd)
                    continue
                if cmd.get("cmd") == "set_vcard_avatar":
                    # xep_0153.set_avatar reads the vCard first, which a fresh account
                    # has none of (item-not-found): publish a new one, then let the
                    # plugin take its hash and say it in our presence.
                    data = base64.b64decode(cmd["png"])
                    vcard = self.plugin["xep_0054"].make_vcard()
                    vcard["PHOTO"]["TYPE"] = "image/png"
                    vcard["PHOTO"]["BINVAL"] = data
                    await self.plugin["xep_0054"].publish_vcard(vcard=vcard)
                    await self.plugin["xep_0153"].api["reset_hash"](self.boundjid)
                    self.roster[self.boundjid.bare].send_last_presence()
                    emit({"event": "sent", "id": hashlib.sha1(data).hexdigest(),
                          "tag": cmd.get("tag")})
                    continue
                if cmd.get("cmd") == "upload":
                    await self.upload(cmd)
                    continue
                if cmd.get("cmd") == "download":
                    await self.download(cmd)
                    continue
                self.run(cmd)
            except Exception as e:  # pylint: disable=broad-exception-caught
                emit({"event": "error", "message": f"{cmd.get('cmd')}: {type(e).__name__}: {e}",
                      "tag": cmd.get("tag")})

    async def set_avatar(self, cmd: Dict[str, Any]) -> None:
        data = base64.b64decode(cmd["png"])
        avatar = self["xep_0084"]
        sha = avatar.generate_id(data)
        await avatar.publish_avatar(data)
        await avatar.publish_avatar_metadata(
            items=[{"id": sha, "type": "image/png", "bytes": len(data)}])
        emit({"event": "sent", "id": sha, "tag": cmd.get("tag")})

    async def upload(self, cmd: Dict[str, Any]) -> None:
        # slixmpp finds the service, checks its limit, asks for a slot and PUTs the file.
        url = await self["xep_0363"].upload_file(cmd["path"])
        m = self.make_message(mto=JID(cmd["to"]), mbody=url, mtype="chat")
        m["oob"]["url"] = url
        m.send()
        emit({"event": "sent", "id": m["id"], "url": url, "tag": cmd.get("tag")})

    async def download(self, cmd: Dict[str, Any]) -> None:
        import aiohttp  # pylint: disable=import-outside-toplevel
        digest = hashlib.sha256()
        size = 0
        async with aiohttp.ClientSession() as session:
            async with session.get(cmd["url"], ssl=self.ssl_context) as response:
                if response.status != 200:
                    raise RuntimeError(f"GET answered {response.status}")
                with open(cmd["path"], "wb") as f:
                    async for chunk in response.content.iter_chunked(65536):
                        digest.update(chunk)
                        size += len(chunk)
                        f.write(chunk)
        emit({"event": "downloaded", "sha256": digest.hexdigest(), "size": size,
              "tag": cmd.get("tag")})

    def run(self, cmd: Dict[str, Any]) -> None:
        name, to = cmd["cmd"], JID(cmd["to"])
        if name == "send":
            m = self.make_message(mto=to, mbody=cmd["body"], mtype="chat")
            m.enable("markable")
        elif name == "send_oob":
            m = self.make_message(mto=to, mbody=cmd["url"], mtype="chat")
            m["oob"]["url"] = cmd["url"]
        elif name == "correct":
            m = self["xep_0308"].build_correction(cmd["id"], to, mbody=cmd["body"])
        elif name == "reply":
            m = self["xep_0461"].make_reply(to.bare, cmd["id"], fallback=cmd.get("quote"),
                                            mto=to, mbody=cmd["body"], mtype="chat")
        elif name == "react":
            m = self.make_message(mto=to, mtype="chat")
            XEP_0444.set_reactions(m, cmd["id"], cmd["reactions"])
            m.enable("store")
        elif name == "retract":
            self["xep_0424"].send_retraction(to, cmd["id"], mtype="chat")
            emit({"event": "sent", "id": None, "tag": cmd.get("tag")})
            return
        elif name == "displayed":
            self["xep_0333"].send_marker(to, cmd["id"], "displayed", mtype="chat")
            emit({"event": "sent", "id": None, "tag": cmd.get("tag")})
            return
        else:
            raise ValueError(f"unknown command {name!r}")
        m.send()
        emit({"event": "sent", "id": m["id"], "tag": cmd.get("tag")})


def read_stdin(loop: asyncio.AbstractEventLoop, peer: Peer) -> None:
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
        except ValueError as e:
            loop.call_soon_threadsafe(emit, {"event": "error", "message": f"bad line: {e}"})
            continue
        loop.call_soon_threadsafe(peer.commands.put_nowait, cmd)
    loop.call_soon_threadsafe(peer.commands.put_nowait, None)


async def amain(args: argparse.Namespace) -> int:
    with open(args.password_file, "r", encoding="utf-8") as f:
        password = f.read().strip()
    host, _, port = args.server.rpartition(":")
    peer = Peer(args, password)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, peer.done.set)
    threading.Thread(target=read_stdin, args=(loop, peer), daemon=True).start()
    peer.connect(host.strip("[]"), int(port))
    await peer.done.wait()
    return 0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--jid", required=True)
    p.add_argument("--password-file", required=True)
    p.add_argument("--server", required=True, help="HOST:PORT (STARTTLS)")
    p.add_argument("--ca-file", required=True)
    p.add_argument("--resource", default="slix-" + secrets.token_hex(3))
    args = p.parse_args()
    # slixmpp's upload plugin makes its own HTTPS session: it trusts the test CA this way.
    os.environ["SSL_CERT_FILE"] = args.ca_file
    logging.basicConfig(level=logging.DEBUG if os.environ.get("SLIX_PEER_DEBUG") else logging.WARNING,
                        stream=sys.stderr)
    code = asyncio.run(amain(args))
    sys.stdout.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
