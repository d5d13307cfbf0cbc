#!/usr/bin/env python3
"""A third-party group chat (XEP-0045) occupant for Banter's end-to-end tests, on slixmpp's
xep_0045 and xep_0249 plugins. One process is one account, in the room given at start (if any)
and those it is told to join; it is driven with JSON lines on stdin and reports with JSON lines
on stdout.

Usage:
  slix_room.py --jid carol@example.test --password-file F --server 127.0.0.1:PORT \
               --ca-file CERT.pem [--room team@rooms.example.test --nick carol]

Connection: STARTTLS only, the certificate verified against --ca-file for the JID's domain.

stdin commands (one JSON object a line; "room" defaults to --room):
  {"cmd":"join","room":R,"nick":N}          joins a room (answered by "joined")
  {"cmd":"send","body":TEXT}                a groupchat message to the room
  {"cmd":"pm","nick":N,"body":TEXT}         a private message to an occupant of the room
  {"cmd":"subject","subject":TEXT}          sets the room's subject
  {"cmd":"invite","jid":J,"direct":bool}    invites J to the room (XEP-0249 if direct, else
                                            through the room)
  {"cmd":"bookmark","room":R,"nick":N,"autojoin":bool}
                                            publishes an XEP-0402 bookmark (answered by "done")
  {"cmd":"legacy_bookmark","room":R,"nick":N}
                                            stores an XEP-0048 bookmark in private storage
  {"cmd":"unbookmark","room":R}             retracts that XEP-0402 bookmark (answered by "done")
  {"cmd":"bookmarks"}                       reads the XEP-0402 bookmarks (answered by "bookmarks")
  {"cmd":"say","body":TEXT}                 as send, answered by {"event":"sent","id":ID}
  {"cmd":"correct","id":ID,"body":TEXT}     corrects our message ID (XEP-0308, slixmpp's plugin)
  {"cmd":"react","id":SID,"reactions":[..]} our whole set of reactions to SID (XEP-0444)
  {"cmd":"retract","id":SID}                retracts our message SID (XEP-0424)
  {"cmd":"reply","id":SID,"nick":N,"quote":TEXT,"body":TEXT}
                                            answers N's message SID, quoting it (XEP-0461)
      each answered by {"event":"sent","id":ID}
  {"cmd":"quit"}                            leaves, disconnects and exits 0 (so does EOF)

stdout events (one JSON object a line, flushed):
  {"event":"ready"}                          signed in
  {"event":"joined","room":R,"nick":NICK}
  {"event":"message","room":R,"nick":NICK,"body":TEXT|null,"id":ID,"delayed":bool,
   "stanza_id":SID|null,"replace":ID|null,"reactions":{"id","values"}|null,"retract":SID|null,
   "reply":{"id","to","body"}|null,"oob":URL|null}   with a body or any of these
  {"event":"private","room":R,"nick":NICK,"body":TEXT}
  {"event":"subject","nick":NICK,"subject":TEXT}
  {"event":"occupant","room":R,"nick":NICK,"role":ROLE,"affiliation":AFF,
   "type":"available"|"unavailable","codes":[INT]}
  {"event":"invitation","room":R,"from":JID,"reason":TEXT,"mediated":bool}
  {"event":"bookmarks","rooms":[{"room":R,"autojoin":bool,"nick":N}]}
  {"event":"done","cmd":CMD}
  {"event":"error","message":TEXT}
"""

import argparse
import asyncio
import json
import os
import signal
import ssl
import sys
import threading
import xml.etree.ElementTree as ET

import slixmpp
from slixmpp.jid import JID
from slixmpp.plugins.xep_0444 import XEP_0444

MUC_USER = "http://jabber.org/protocol/muc#user"
BOOKMARKS = "urn:xmpp:bookmarks:1"
PUBSUB = "http://jabber.org/protocol/pubsub"


def emit(**event) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


class Occupant(slixmpp.ClientXMPP):
    def __init__(self, args: argparse.Namespace, password: str) -> None:
        super().__init__(f"{args.jid}/slix-room", password)
        self.args = args
        self.commands: asyncio.Queue = asyncio.Queue()
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=args.ca_file)
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        self.ssl_context = ctx
        self.enable_direct_tls = False
        self.enable_starttls = True
        self.enable_plaintext = False
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0045")
        self.register_plugin("xep_0199")
        self.register_plugin("xep_0249")
        for plugin in ("xep_0066", "xep_0308", "xep_0359", "xep_0424", "xep_0428", "xep_0444",
                       "xep_0461"):
            self.register_plugin(plugin)
        self.rooms = set()
        self.add_event_handler("session_start", self.on_session_start)
        self.add_event_handler("groupchat_message", self.on_groupchat)
        # slixmpp reports only groupchat messages with a body as such: reactions (which
        # have none) come as xep_0444's event.
        self.add_event_handler(
            "reactions", lambda m: self.on_groupchat(m) if m["type"] == "groupchat" else None)
        self.add_event_handler("groupchat_subject", self.on_subject)
        self.add_event_handler("groupchat_presence", self.on_presence)
        self.add_event_handler("message", self.on_message)
        self.add_event_handler("groupchat_invite", lambda m: self.on_invite(m, True))
        self.add_event_handler("groupchat_direct_invite", lambda m: self.on_invite(m, False))
        self.add_event_handler("failed_auth", lambda _: self.fail("authentication failed"))

    def fail(self, message: str) -> None:
        emit(event="error", message=message)
        os._exit(1)

    async def on_session_start(self, _event) -> None:
        self.send_presence()
        await self.get_roster()
        emit(event="ready")
        if self.args.room:
            await self.join(self.args.room, self.args.nick)
        asyncio.ensure_future(self.run_commands())

    async def join(self, room: str, nick: str) -> None:
        try:
            await self.plugin["xep_0045"].join_muc_wait(room, nick, maxstanzas=0, timeout=30)
        except Exception as e:  # noqa: BLE001 - reported, then the test fails on it
            emit(event="error", message=f"join of {room} failed: {e!r}")
            return
        self.rooms.add(room)
        emit(event="joined", room=room, nick=nick)

    async def iq_set(self, payload: str) -> None:
        iq = self.make_iq_set()
        iq.append(ET.fromstring(payload))
        await iq.send(timeout=30)

    async def bookmarks(self) -> None:
        iq = self.make_iq_get()
        iq.append(ET.fromstring(f"<pubsub xmlns='{PUBSUB}'><items node='{BOOKMARKS}'/></pubsub>"))
        answer = await iq.send(timeout=30)
        rooms = []
        for item in answer.xml.iter(f"{{{PUBSUB}}}item"):
            conf = item.find(f"{{{BOOKMARKS}}}conference")
            if conf is None:
                continue
            nick = conf.find(f"{{{BOOKMARKS}}}nick")
            rooms.append({"room": item.get("id"),
                          "autojoin": conf.get("autojoin") in ("true", "1"),
                          "nick": nick.text if nick is not None else None})
        emit(event="bookmarks", rooms=rooms)

    async def run_commands(self) -> None:
        muc = self.plugin["xep_0045"]
        while True:
            cmd = await self.commands.get()
            if cmd is None or cmd.get("cmd") == "quit":
                for room in self.rooms:
                    muc.leave_muc(room, muc.our_nicks.get(room, self.args.nick or "x"))
                await asyncio.sleep(0.2)
                await self.disconnect()
                sys.stdout.flush()
                os._exit(0)
            room = cmd.get("room", self.args.room)
            name = cmd.get("cmd")
            try:
                if name == "join":
                    await self.join(room, cmd["nick"])
                elif name == "send":
                    self.send_message(mto=room, mbody=cmd["body"], mtype="groupchat")
                elif name in ("say", "correct", "react", "retract", "reply"):
                    self.amend(name, room, cmd)
                elif name == "pm":
                    self.send_message(mto=f"{room}/{cmd['nick']}", mbody=cmd["body"], mtype="chat")
                elif name == "subject":
                    muc.set_subject(room, cmd["subject"])
                elif name == "invite":
                    if cmd.get("direct"):
                        self.plugin["xep_0249"].send_invitation(cmd["jid"], room)
                    else:
                        muc.invite(room, cmd["jid"])
                elif name == "bookmark":
                    autojoin = "true" if cmd.get("autojoin") else "false"
                    await self.iq_set(
                        f"<pubsub xmlns='{PUBSUB}'><publish node='{BOOKMARKS}'><item id='{room}'>"
                        f"<conference xmlns='{BOOKMARKS}' autojoin='{autojoin}'><nick>{cmd['nick']}</nick>"
                        f"</conference></item></publish><publish-options><x xmlns='jabber:x:data' type='submit'>"
                        f"<field var='FORM_TYPE' type='hidden'><value>{PUBSUB}#publish-options</value></field>"
                        f"<field var='pubsub#persist_items'><value>true</value></field>"
                        f"<field var='pubsub#max_items'><value>max</value></field>"
                        f"<field var='pubsub#send_last_published_item'><value>never</value></field>"
                        f"<field var='pubsub#access_model'><value>whitelist</value></field>"
                        f"</x></publish-options></pubsub>")
                    emit(event="done", cmd=name)
                elif name == "unbookmark":
                    await self.iq_set(
                        f"<pubsub xmlns='{PUBSUB}'><retract node='{BOOKMARKS}' notify='true'>"
                        f"<item id='{room}'/></retract></pubsub>")
                    emit(event="done", cmd=name)
                elif name == "legacy_bookmark":
                    await self.iq_set(
                        f"<query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'>"
                        f"<conference jid='{room}' autojoin='true'><nick>{cmd['nick']}</nick></conference>"
                        f"</storage></query>")
                    emit(event="done", cmd=name)
                elif name == "bookmarks":
                    await self.bookmarks()
                else:
                    emit(event="error", message=f"unknown command {cmd!r}")
            except Exception as e:  # noqa: BLE001 - reported, then the test fails on it
                emit(event="error", message=f"{name} failed: {e!r}")

    def amend(self, name: str, room: str, cmd) -> None:
        """Groupchat messages built by slixmpp's own plugins."""
        if name == "say":
            m = self.make_message(mto=room, mbody=cmd["body"], mtype="groupchat")
        elif name == "correct":
            m = self.plugin["xep_0308"].build_correction(cmd["id"], JID(room), mbody=cmd["body"],
                                                         mtype="groupchat")
        elif name == "react":
            m = self.make_message(mto=room, mtype="groupchat")
            XEP_0444.set_reactions(m, cmd["id"], cmd["reactions"])
        elif name == "retract":
            self.plugin["xep_0424"].send_retraction(JID(room), cmd["id"], mtype="groupchat")
            emit(event="sent", id=None)
            return
        else:
            m = self.plugin["xep_0461"].make_reply(JID(f"{room}/{cmd['nick']}"), cmd["id"],
                                                   fallback=cmd.get("quote"), mto=JID(room),
                                                   mbody=cmd["body"], mtype="groupchat")
        m.send()
        emit(event="sent", id=m["id"])

    def on_groupchat(self, msg) -> None:
        if msg["mucroom"] not in self.rooms:
            return
        x = msg.xml
        report = {"replace": None, "reactions": None, "retract": None, "reply": None,
                  "oob": None, "stanza_id": None}
        for sid in x.findall("{urn:xmpp:sid:0}stanza-id"):
            if sid.get("by") == str(msg["mucroom"]):
                report["stanza_id"] = sid.get("id")
        if x.find("{urn:xmpp:message-correct:0}replace") is not None:
            report["replace"] = msg["replace"]["id"]
        if x.find("{urn:xmpp:reactions:0}reactions") is not None:
            report["reactions"] = {"id": msg["reactions"]["id"],
                                   "values": sorted(r["value"] for r in msg["reactions"])}
        if x.find("{urn:xmpp:message-retract:1}retract") is not None:
            report["retract"] = msg["retract"]["id"]
        if x.find("{urn:xmpp:reply:0}reply") is not None:
            report["reply"] = {"id": msg["reply"]["id"], "to": str(msg["reply"]["to"]) or None,
                               "body": msg["reply"].strip_fallback_content()}
        if x.find("{jabber:x:oob}x") is not None:
            report["oob"] = msg["oob"]["url"] or None
        if not msg["body"] and all(v is None for k, v in report.items() if k != "stanza_id"):
            return
        emit(event="message", room=str(msg["mucroom"]), nick=msg["mucnick"],
             body=msg["body"] or None, id=msg["id"], delayed=bool(msg["delay"]["stamp"]),
             **report)

    def on_message(self, msg) -> None:
        if msg["type"] == "chat" and msg["from"].bare in self.rooms and msg["body"]:
            emit(event="private", room=msg["from"].bare, nick=msg["from"].resource,
                 body=msg["body"])

    def on_invite(self, msg, mediated: bool) -> None:
        if mediated:
            x = msg.xml.find(f"{{{MUC_USER}}}x")
            inv = x.find(f"{{{MUC_USER}}}invite") if x is not None else None
            emit(event="invitation", room=msg["from"].bare, mediated=True,
                 **{"from": inv.get("from") if inv is not None else None})
        else:
            emit(event="invitation", room=str(msg["groupchat_invite"]["jid"]), mediated=False,
                 **{"from": msg["from"].bare})

    def on_subject(self, msg) -> None:
        emit(event="subject", nick=msg["mucnick"], subject=msg["subject"])

    def on_presence(self, pres) -> None:
        codes = [int(s.get("code")) for s in pres.xml.iter(f"{{{MUC_USER}}}status")
                 if (s.get("code") or "").isdigit()]
        emit(event="occupant", room=pres["from"].bare, nick=pres["muc"]["nick"],
             role=pres["muc"]["role"], affiliation=pres["muc"]["affiliation"], type=pres["type"],
             codes=codes)


def read_stdin(loop: asyncio.AbstractEventLoop, peer: Occupant) -> None:
    for line in sys.stdin:
        line = line.strip()
        if line:
            try:
                loop.call_soon_threadsafe(peer.commands.put_nowait, json.loads(line))
            except ValueError as e:
                loop.call_soon_threadsafe(emit, event="error", message=f"bad line {line!r}: {e}")
    loop.call_soon_threadsafe(peer.commands.put_nowait, None)


async def amain(args: argparse.Namespace) -> None:
    with open(args.password_file, "r", encoding="utf-8") as f:
        password = f.read().strip()
    host, _, port = args.server.rpartition(":")
    peer = Occupant(args, password)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: os._exit(0))
    threading.Thread(target=read_stdin, args=(loop, peer), daemon=True).start()
    peer.connect(host.strip("[]"), int(port))
    await asyncio.Event().wait()


def main() -> None:
    p = argparse.ArgumentParser()
    for name in ("--jid", "--password-file", "--server", "--ca-file"):
        p.add_argument(name, required=True)
    p.add_argument("--room")
    p.add_argument("--nick")
    asyncio.run(amain(p.parse_args()))


if __name__ == "__main__":
    main()
