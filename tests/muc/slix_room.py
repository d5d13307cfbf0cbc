#!/usr/bin/env python3
"""A third-party group chat (XEP-0045) occupant for Banter's end-to-end tests, on slixmpp's
xep_0045 plugin. One process is one account in one room; it is driven with JSON lines on stdin
and reports with JSON lines on stdout.

Usage:
  slix_room.py --jid carol@example.test --password-file F --server 127.0.0.1:PORT \
               --ca-file CERT.pem --room team@rooms.example.test --nick carol

Connection: STARTTLS only, the certificate verified against --ca-file for the JID's domain.

stdin commands (one JSON object a line):
  {"cmd":"send","body":TEXT}        a groupchat message to the room
  {"cmd":"subject","subject":TEXT}  sets the room's subject
  {"cmd":"quit"}                    leaves the room, disconnects and exits 0 (so does EOF)

stdout events (one JSON object a line, flushed):
  {"event":"joined","nick":NICK}
  {"event":"message","nick":NICK,"body":TEXT,"id":ID,"delayed":bool}
  {"event":"subject","nick":NICK,"subject":TEXT}
  {"event":"occupant","nick":NICK,"role":ROLE,"affiliation":AFF,"type":"available"|"unavailable"}
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

import slixmpp


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
        self.add_event_handler("session_start", self.on_session_start)
        self.add_event_handler("groupchat_message", self.on_groupchat)
        self.add_event_handler("groupchat_subject", self.on_subject)
        self.add_event_handler(f"muc::{args.room}::presence", self.on_presence)
        self.add_event_handler("failed_auth", lambda _: self.fail("authentication failed"))

    def fail(self, message: str) -> None:
        emit(event="error", message=message)
        os._exit(1)

    async def on_session_start(self, _event) -> None:
        self.send_presence()
        await self.get_roster()
        try:
            await self.plugin["xep_0045"].join_muc_wait(self.args.room, self.args.nick, maxstanzas=0,
                                                        timeout=30)
        except Exception as e:  # noqa: BLE001 - reported, then the test fails on it
            self.fail(f"join failed: {e!r}")
        emit(event="joined", nick=self.args.nick)
        asyncio.ensure_future(self.run_commands())

    async def run_commands(self) -> None:
        room = self.args.room
        while True:
            cmd = await self.commands.get()
            if cmd is None or cmd.get("cmd") == "quit":
                self.plugin["xep_0045"].leave_muc(room, self.args.nick)
                await asyncio.sleep(0.2)
                await self.disconnect()
                sys.stdout.flush()
                os._exit(0)
            elif cmd.get("cmd") == "send":
                self.send_message(mto=room, mbody=cmd["body"], mtype="groupchat")
            elif cmd.get("cmd") == "subject":
                self.plugin["xep_0045"].set_subject(room, cmd["subject"])
            else:
                emit(event="error", message=f"unknown command {cmd!r}")

    def on_groupchat(self, msg) -> None:
        if msg["mucroom"] != self.args.room or not msg["body"]:
            return
        emit(event="message", nick=msg["mucnick"], body=msg["body"], id=msg["id"],
             delayed=bool(msg["delay"]["stamp"]))

    def on_subject(self, msg) -> None:
        emit(event="subject", nick=msg["mucnick"], subject=msg["subject"])

    def on_presence(self, pres) -> None:
        emit(event="occupant", nick=pres["muc"]["nick"], role=pres["muc"]["role"],
             affiliation=pres["muc"]["affiliation"], type=pres["type"])


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
    for name in ("--jid", "--password-file", "--server", "--ca-file", "--room", "--nick"):
        p.add_argument(name, required=True)
    asyncio.run(amain(p.parse_args()))


if __name__ == "__main__":
    main()
