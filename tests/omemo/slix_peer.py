#!/usr/bin/env python3
"""A long-running third-party OMEMO (XEP-0384) peer for Banter's end-to-end tests.

Built on slixmpp and slixmpp-omemo (python-omemo with the oldmemo and twomemo backends). One process is
one XMPP account/device; it is driven with JSON lines on stdin and reports with JSON lines on stdout.

Usage:
  slix_peer.py --jid bob@example.test --password-file F --server 127.0.0.1:PORT --ca-file CERT.pem \
               --state DIR [--namespaces oldmemo,twomemo] [--resource R] [--verbose]

Connection: STARTTLS only (no direct TLS, no plaintext), the server certificate verified against
--ca-file alone (not the system store), for the JID's domain (e.g. example.test), not for the host.

State: DIR/omemo.json holds the whole OMEMO identity, sessions, trust and device lists (rewritten
atomically on every change), so the same DIR gives the same device id after a restart. Trust: blind
trust before verification; any device that would need a manual decision is trusted as well.

stdin commands (one JSON object a line):
  {"cmd":"send","to":JID,"body":TEXT[,"namespace":NS][,"refresh":false]}
        OMEMO-encrypted <message type='chat'> to all devices of JID's account and to this account's
        other devices; NS ("oldmemo"/"twomemo" or the full namespace) restricts to that version,
        otherwise each device gets the best version it supports (twomemo first). Before encrypting,
        the device lists of JID (and of our own account) are downloaded again unless "refresh" is false.
        Prints {"event":"sent","to":..,"id":..,"namespaces":[..],"errors":[..]}.
  {"cmd":"send_plain","to":JID,"body":TEXT}      unencrypted chat message; prints "sent" too.
  {"cmd":"subscribe","to":JID}                   presence subscription request.
  {"cmd":"devices","jid":JID}                    prints {"event":"devices",...} as known now.
  {"cmd":"bundle","jid":JID,"device":N,"namespace":"oldmemo"|"twomemo"}
        fetches that device's published bundle (PEP, straight from the server) and prints
        {"event":"bundle","jid":BARE,"device":N,"namespace":..,"prekeys":[ids],"signed_prekey":ID}.
  {"cmd":"quit"}                                 disconnect and exit 0 (so does EOF on stdin).
  Every command may carry "tag"; it is copied into the event that answers it.

stdout events (one JSON object a line, flushed):
  {"event":"ready","jid":FULL,"device_id":N,"namespaces":[..],"elapsed_ms":N}
  {"event":"message","from":FULL,"to":..,"id":..,"type":..,"body":..,"encrypted":bool,
   "namespace":NS|null,"device":N|null,"carbon":null|"received"|"sent"}
  {"event":"empty","from":..,"namespace":..,"device":N}     an OMEMO message without payload, or
                                                           an SCE envelope without <body/> ("sce":true)
                                                           (session completion / heartbeat)
  {"event":"devices","jid":BARE,"namespace":NS,"devices":[..]}   device list update received (PEP)
  {"event":"roster","jid":BARE,"subscription":..}           roster push
  {"event":"trusted","jid":BARE,"device":N,"namespaces":[..]}  device blindly trusted
  {"event":"sent",...}  {"event":"subscribe_sent",...}
  {"event":"disconnected","reason":..}  then reconnects by itself and prints "ready" again
  {"event":"connection_failed","reason":..}  (slixmpp retries)
  {"event":"error","message":..}  failures (decryption, bad commands, ...); the peer keeps running,
                                   except on authentication (exit 1) or certificate (exit 2) failure

Debug logging (slixmpp, omemo) goes to stderr with --verbose or SLIX_PEER_DEBUG=1.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import copy
import json
import logging
import os
import secrets
import signal
import ssl
import sys
import threading
import time
import traceback
from datetime import datetime, timezone
from typing import Any, Dict, FrozenSet, List, Optional
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape as xml_escape, quoteattr

import omemo
import oldmemo
import oldmemo.etree
import twomemo
import twomemo.etree
from omemo.session_manager import SessionManager
from omemo.storage import Just, Maybe, Nothing, Storage
from omemo.types import DeviceInformation, JSONType

import slixmpp
from slixmpp.jid import JID
from slixmpp.plugins.base import register_plugin
from slixmpp.stanza import Message
from slixmpp.xmlstream.handler import CoroutineCallback
from slixmpp.xmlstream.matcher import MatchXPath

import slixmpp_omemo.xep_0384 as slix_omemo_impl
from slixmpp_omemo import TrustLevel, XEP_0384

OLD = oldmemo.oldmemo.NAMESPACE  # eu.siacs.conversations.axolotl
TWO = twomemo.twomemo.NAMESPACE  # urn:xmpp:omemo:2
SHORT = {"oldmemo": OLD, "twomemo": TWO, OLD: OLD, TWO: TWO}
SCE_NS = "urn:xmpp:sce:1"
EME_NS = "urn:xmpp:eme:0"

STARTED = time.monotonic()
_out_lock = threading.Lock()


def emit(obj: Dict[str, Any]) -> None:
    line = json.dumps(obj, ensure_ascii=False)
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def emit_error(message: str, **extra: Any) -> None:
    obj: Dict[str, Any] = {"event": "error", "message": message}
    obj.update(extra)
    emit(obj)


def describe(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}"
    cause = e.__cause__ or e.__context__
    if cause is not None and cause is not e:
        text += f" (caused by {type(cause).__name__}: {cause})"
    return text


# ---------------------------------------------------------------------------------------------------
# Storage: one JSON file, rewritten atomically on every write (python-omemo requires writes to be
# persisted before returning).


class JsonFileStorage(Storage):
    def __init__(self, path: str) -> None:
        super().__init__()
        self._path = path
        try:
            with open(path, "r", encoding="utf-8") as f:
                self._data: Dict[str, JSONType] = json.load(f)
        except FileNotFoundError:
            self._data = {}

    async def _load(self, key: str) -> Maybe[JSONType]:
        if key in self._data:
            return Just(copy.deepcopy(self._data[key]))
        return Nothing()

    async def _store(self, key: str, value: JSONType) -> None:
        self._data[key] = copy.deepcopy(value)
        self._flush()

    async def _delete(self, key: str) -> None:
        if self._data.pop(key, None) is not None:
            self._flush()

    def _flush(self) -> None:
        tmp = self._path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self._data, f)
        os.replace(tmp, self._path)


# ---------------------------------------------------------------------------------------------------
# The slixmpp-omemo plugin, configured: JSON storage, BTBV, trust everything else, and a choice of
# backends (the stock plugin always loads both).


class PeerOmemo(XEP_0384):
    default_config = {
        "fallback_message": "This message is OMEMO encrypted.",
        "state_file": None,
        "namespaces": [TWO, OLD],
    }

    def plugin_init(self) -> None:
        super().plugin_init()
        self._storage_impl = JsonFileStorage(self.state_file)
        self._sm: Optional[SessionManager] = None
        self._sm_task: Optional[asyncio.Task] = None

    @property
    def storage(self) -> Storage:
        return self._storage_impl

    @property
    def _btbv_enabled(self) -> bool:
        return True

    async def _devices_blindly_trusted(
        self, blindly_trusted: FrozenSet[DeviceInformation], identifier: Optional[str]
    ) -> None:
        for d in sorted(blindly_trusted, key=lambda d: (d.bare_jid, d.device_id)):
            emit({"event": "trusted", "jid": d.bare_jid, "device": d.device_id,
                  "namespaces": sorted(d.namespaces)})

    async def _prompt_manual_trust(
        self, manually_trusted: FrozenSet[DeviceInformation], identifier: Optional[str]
    ) -> None:
        sm = await self.get_session_manager()
        for d in manually_trusted:
            await sm.set_trust(d.bare_jid, d.identity_key, TrustLevel.TRUSTED.value)
            emit({"event": "trusted", "jid": d.bare_jid, "device": d.device_id,
                  "namespaces": sorted(d.namespaces), "manual": True})

    def loaded_namespaces(self) -> List[str]:
        return [ns for ns in (TWO, OLD) if ns in self.namespaces]

    async def get_session_manager(self) -> SessionManager:
        if self._sm is not None:
            return self._sm
        if self._sm_task is None:
            self._sm_task = asyncio.ensure_future(self._prepare())
        return await asyncio.shield(self._sm_task)

    async def _prepare(self) -> SessionManager:
        backends: List[Any] = []
        if TWO in self.namespaces:
            backends.append(twomemo.Twomemo(self.storage, 1000, None))
        if OLD in self.namespaces:
            backends.append(oldmemo.Oldmemo(self.storage, 1000, None))
        # The plugin's own SessionManager implementation (pubsub via XEP-0060, empty messages via
        # the stream, trust via the hooks above); only the list of backends differs from its _prepare.
        cls = slix_omemo_impl._make_session_manager(self.xmpp, self)  # pylint: disable=protected-access
        sm = await cls.create(
            backends,
            self.storage,
            self.xmpp.boundjid.bare,
            initial_own_label=None,
            undecided_trust_level_name=TrustLevel.UNDECIDED.value,
        )
        await sm.ensure_data_consistency()
        await sm.after_history_sync()
        self._sm = sm
        self.xmpp.event("omemo_initialized")
        return sm

    async def _on_device_list_update(self, msg: Message) -> None:
        items = msg["pubsub_event"]["items"]
        node = items["node"]
        namespace = {slix_omemo_impl.TWOMEMO_DEVICE_LIST_NODE: TWO,
                     slix_omemo_impl.OLDMEMO_DEVICE_LIST_NODE: OLD}.get(node)
        if namespace not in self.namespaces:
            return
        try:
            await super()._on_device_list_update(msg)
        except Exception as e:  # pylint: disable=broad-exception-caught
            emit_error(f"device list update from {msg['from']} failed: {describe(e)}")
            return
        ids: List[int] = []
        for item in items:
            elt = next(iter(item.xml), None)
            if elt is None:
                continue
            try:
                parsed = (twomemo.etree.parse_device_list(elt) if namespace == TWO
                          else oldmemo.etree.parse_device_list(elt))
                ids.extend(parsed.keys())
            except Exception:  # pylint: disable=broad-exception-caught
                pass
        emit({"event": "devices", "jid": msg["from"].bare, "namespace": namespace,
              "devices": sorted(ids), "source": "pep"})


register_plugin(PeerOmemo, name="xep_0384")


# ---------------------------------------------------------------------------------------------------
# SCE (XEP-0420) for urn:xmpp:omemo:2, which slixmpp-omemo leaves unimplemented.


def sce_envelope(body: str, to_bare: str, from_bare: str) -> bytes:
    rpad = base64.b64encode(secrets.token_bytes(secrets.randbelow(40))).decode()
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"<envelope xmlns='{SCE_NS}'>"
        f"<content><body xmlns='jabber:client'>{xml_escape(body)}</body></content>"
        f"<rpad>{rpad}</rpad>"
        f"<time stamp={quoteattr(stamp)}/>"
        f"<to jid={quoteattr(to_bare)}/>"
        f"<from jid={quoteattr(from_bare)}/>"
        f"</envelope>"
    ).encode("utf-8")


def parse_sce(plaintext: bytes, sender_bare: str) -> Optional[str]:
    """The body in an SCE envelope; raises ValueError if the envelope is malformed or the 'from'
    affix names someone other than the sender."""
    env = ET.fromstring(plaintext.decode("utf-8"))
    if env.tag != f"{{{SCE_NS}}}envelope":
        raise ValueError(f"not an SCE envelope: {env.tag}")
    content = env.find(f"{{{SCE_NS}}}content")
    if content is None:
        raise ValueError("SCE envelope without <content/>")
    frm = env.find(f"{{{SCE_NS}}}from")
    if frm is None:
        raise ValueError("SCE envelope without the <from/> affix")
    if JID(frm.get("jid", "")).bare != sender_bare:
        raise ValueError(f"SCE <from/> affix {frm.get('jid')!r} does not match sender {sender_bare}")
    bodies = [c for c in content if c.tag.rpartition("}")[2] == "body"]
    if not bodies:
        return None
    if bodies[0].tag != "{jabber:client}body":
        raise ValueError(f"<body/> in the SCE <content/> is {bodies[0].tag!r}, not in jabber:client")
    return bodies[0].text or ""


# ---------------------------------------------------------------------------------------------------


class Peer(slixmpp.ClientXMPP):
    def __init__(self, args: argparse.Namespace, password: str, namespaces: List[str]) -> None:
        jid = args.jid if "/" in args.jid else f"{args.jid}/{args.resource}"
        super().__init__(jid, password)
        self.args = args
        self.quitting = False
        self.ready_once = False
        self.commands: asyncio.Queue = asyncio.Queue()
        self.omemo_lock = asyncio.Lock()

        # TLS: STARTTLS only, verified against the given CA file only; slixmpp checks the
        # certificate for the JID's domain (default_domain), whatever host it connects to.
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=args.ca_file)
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        self.ssl_context = ctx
        self.enable_direct_tls = False
        self.enable_starttls = True
        self.enable_plaintext = False

        self.auto_authorize = True  # accept subscription requests ...
        self.auto_subscribe = True  # ... and subscribe back

        self.register_plugin("xep_0030")
        self.register_plugin("xep_0060")
        self.register_plugin("xep_0115")
        self.register_plugin("xep_0163")
        self.register_plugin("xep_0199")
        self.register_plugin("xep_0280")
        self.register_plugin("xep_0334")
        self.register_plugin("xep_0380")
        self.register_plugin("xep_0384", {
            "state_file": os.path.join(args.state, "omemo.json"),
            "namespaces": namespaces,
        }, module=sys.modules[__name__])

        self.add_event_handler("session_start", self.on_session_start)
        # slixmpp's own "message" event needs a <body/>; OMEMO messages need not have one (empty
        # session-completion/heartbeat messages never do), so all messages are looked at here.
        self.register_handler(CoroutineCallback(
            "Peer messages", MatchXPath("{jabber:client}message"), self.on_message))
        self.add_event_handler("message_error", self.on_message_error)
        self.add_event_handler("carbon_received", self.on_carbon_received)
        self.add_event_handler("carbon_sent", self.on_carbon_sent)
        self.add_event_handler("roster_update", self.on_roster_update)
        self.add_event_handler("failed_auth", self.on_failed_auth)
        self.add_event_handler("ssl_invalid_chain", self.on_invalid_chain)
        self.add_event_handler("connection_failed", self.on_connection_failed)
        self.add_event_handler("disconnected", self.on_disconnected)

    @property
    def omemo(self) -> PeerOmemo:
        return self.plugin["xep_0384"]

    # -- connection ------------------------------------------------------------------------------

    async def on_session_start(self, _event: Any) -> None:
        try:
            await self.get_roster()
            self.send_presence()
            try:
                await self.plugin["xep_0280"].enable()
            except Exception as e:  # pylint: disable=broad-exception-caught
                emit_error(f"enabling carbons failed: {describe(e)}")
            sm = await self.omemo.get_session_manager()
            own, _others = await sm.get_own_device_information()
        except Exception as e:  # pylint: disable=broad-exception-caught
            emit_error(f"start-up failed: {describe(e)}")
            traceback.print_exc()
            self.quit(1)
            return
        emit({"event": "ready", "jid": str(self.boundjid), "device_id": own.device_id,
              "namespaces": self.omemo.loaded_namespaces(),
              "elapsed_ms": int((time.monotonic() - STARTED) * 1000)})
        if not self.ready_once:
            self.ready_once = True
            asyncio.ensure_future(self.command_loop())

    def on_failed_auth(self, _event: Any) -> None:
        emit_error("authentication failed")
        self.quit(1)

    def on_invalid_chain(self, e: Any) -> None:
        emit_error(f"TLS certificate verification failed: {e}")
        self.quit(2)

    def on_connection_failed(self, e: Any) -> None:
        # slixmpp keeps retrying (with back-off); not an "error": a restarting server causes it
        emit({"event": "connection_failed", "reason": str(e)})

    def on_disconnected(self, reason: Any) -> None:
        if self.quitting:
            return
        emit({"event": "disconnected", "reason": str(reason) if reason else None})
        # Reconnect (e.g. the test restarted the server); "ready" is printed again.
        self.loop.call_later(0.5, lambda: None if self.quitting else self.connect(*self.server_address))

    def quit(self, code: int = 0) -> None:
        if self.quitting:
            return
        self.quitting = True
        self.exit_code = code

        async def _bye() -> None:
            try:
                await asyncio.wait_for(self.disconnect(), 5)
            except Exception:  # pylint: disable=broad-exception-caught
                pass
            self.done.set()

        asyncio.ensure_future(_bye())

    # -- roster ----------------------------------------------------------------------------------

    def on_roster_update(self, iq: Any) -> None:
        try:
            items = iq["roster"]["items"]
        except Exception:  # pylint: disable=broad-exception-caught
            return
        for jid, item in items.items():
            emit({"event": "roster", "jid": JID(jid).bare,
                  "subscription": item.get("subscription"),
                  "pending_out": item.get("ask") == "subscribe"})

    # -- incoming messages -----------------------------------------------------------------------

    async def on_message(self, msg: Message) -> None:
        if msg["type"] in ("error", "groupchat"):
            return
        if msg["from"] == self.boundjid:
            return  # our own message to our bare JID (e.g. an empty OMEMO message), reflected
        if msg.xml.find("{urn:xmpp:carbons:2}received") is not None or \
           msg.xml.find("{urn:xmpp:carbons:2}sent") is not None:
            return  # handled by on_carbon_*
        await self.handle_message(msg, None)

    async def on_carbon_received(self, msg: Message) -> None:
        await self.handle_message(msg["carbon_received"], "received")

    async def on_carbon_sent(self, msg: Message) -> None:
        await self.handle_message(msg["carbon_sent"], "sent")

    def on_message_error(self, msg: Message) -> None:
        emit_error(f"message error from {msg['from']}: {msg['error']['condition']} "
                   f"{msg['error']['text']}".strip(), id=msg["id"])

    async def handle_message(self, msg: Message, carbon: Optional[str]) -> None:
        present = [ns for ns in (TWO, OLD)
                   if msg.xml.find(f"{{{ns}}}encrypted") is not None]
        base = {"from": str(msg["from"]), "to": str(msg["to"]), "id": msg["id"] or None,
                "type": msg["type"] or None, "carbon": carbon}
        if not present:
            body = msg["body"]
            if not body:
                return  # chat states, receipts, PEP events, ...
            emit({"event": "message", **base, "body": body, "encrypted": False,
                  "namespace": None, "device": None})
            return

        # One OMEMO operation at a time, in arrival order (asyncio.Lock is FIFO): concurrent
        # decryptions could load and store the same session twice.
        async with self.omemo_lock:
            await self.decrypt_and_report(msg, present, base)

    async def decrypt_and_report(self, msg: Message, present: List[str], base: Dict[str, Any]) -> None:
        sender_bare = msg["from"].bare
        try:
            sm = await self.omemo.get_session_manager()
        except Exception as e:  # pylint: disable=broad-exception-caught
            emit_error(f"OMEMO not initialised: {describe(e)}", **base)
            return
        last_error: Optional[str] = None
        for ns in present:
            if ns not in self.omemo.namespaces:
                last_error = f"message in {ns}, which this peer does not enable"
                continue
            elt = msg.xml.find(f"{{{ns}}}encrypted")
            try:
                if ns == TWO:
                    parsed = twomemo.etree.parse_message(elt, sender_bare)
                else:
                    parsed = await oldmemo.etree.parse_message(
                        elt, sender_bare, self.boundjid.bare, sm)
                plaintext, device, _key = await sm.decrypt(parsed)
            except omemo.MessageNotForUs as e:
                last_error = f"{ns}: {describe(e)}"
                continue
            except Exception as e:  # pylint: disable=broad-exception-caught
                emit_error(f"decryption failed ({ns}) from {msg['from']}: {describe(e)}",
                           **base, namespace=ns)
                return
            if plaintext is None:
                emit({"event": "empty", **base, "namespace": ns, "device": device.device_id})
                return
            try:
                body = parse_sce(plaintext, sender_bare) if ns == TWO else plaintext.decode("utf-8")
            except Exception as e:  # pylint: disable=broad-exception-caught
                emit_error(f"bad decrypted content ({ns}) from {msg['from']}: {describe(e)}",
                           **base, namespace=ns, device=device.device_id)
                return
            if body is None:  # an SCE envelope without a <body/> (e.g. an empty <content/>)
                emit({"event": "empty", **base, "namespace": ns, "device": device.device_id,
                      "sce": True})
                return
            emit({"event": "message", **base, "body": body, "encrypted": True, "namespace": ns,
                  "device": device.device_id})
            return
        emit_error(f"cannot decrypt message from {msg['from']}: {last_error}", **base)

    # -- commands --------------------------------------------------------------------------------

    async def command_loop(self) -> None:
        while not self.quitting:
            cmd = await self.commands.get()
            if cmd is None:
                self.quit(0)
                return
            try:
                await self.run_command(cmd)
            except Exception as e:  # pylint: disable=broad-exception-caught
                emit_error(f"command {cmd.get('cmd')!r} failed: {describe(e)}", tag=cmd.get("tag"))
                if os.environ.get("SLIX_PEER_DEBUG"):
                    traceback.print_exc()

    async def run_command(self, cmd: Dict[str, Any]) -> None:
        name = cmd.get("cmd")
        tag = {"tag": cmd["tag"]} if "tag" in cmd else {}
        if name == "quit":
            self.quit(0)
        elif name == "send":
            async with self.omemo_lock:
                    await self.send_encrypted(JID(cmd["to"]), cmd["body"], cmd.get("namespace"),
                                          cmd.get("refresh", True), tag)
        elif name == "send_plain":
            msg = self.make_message(mto=JID(cmd["to"]), mbody=cmd["body"], mtype="chat")
            msg.send()
            emit({"event": "sent", "to": cmd["to"], "id": msg["id"], "encrypted": False, **tag})
        elif name == "subscribe":
            self.client_roster.subscribe(JID(cmd["to"]).bare)
            emit({"event": "subscribe_sent", "to": cmd["to"], **tag})
        elif name == "devices":
            sm = await self.omemo.get_session_manager()
            bare = JID(cmd["jid"]).bare
            infos = await sm.get_device_information(bare)
            emit({"event": "devices", "jid": bare, "source": "cache",
                  "devices": sorted(d.device_id for d in infos),
                  "detail": [{"device": d.device_id, "namespaces": sorted(d.namespaces),
                              "active": {k: v for k, v in d.active},
                              "trust": d.trust_level_name} for d in
                             sorted(infos, key=lambda d: d.device_id)], **tag})
        elif name == "bundle":
            await self.report_bundle(JID(cmd["jid"]).bare, int(cmd["device"]), cmd["namespace"], tag)
        else:
            emit_error(f"unknown command {name!r}", **tag)

    async def report_bundle(self, bare: str, device: int, namespace: str,
                            tag: Dict[str, Any]) -> None:
        """The prekey ids of a device's bundle as the server has it now (not python-omemo's cache)."""
        if namespace == "twomemo":
            ns, node, item = "urn:xmpp:omemo:2", "urn:xmpp:omemo:2:bundles", str(device)
            prekey, signed, attr = "pk", "spk", "id"
        else:
            ns = "eu.siacs.conversations.axolotl"
            node, item = f"{ns}.bundles:{device}", None
            prekey, signed = "preKeyPublic", "signedPreKeyPublic"
            attr = None
        iq = await self.plugin["xep_0060"].get_items(bare, node, item_ids=[item] if item else None)
        found = iq.xml.find(f".//{{http://jabber.org/protocol/pubsub}}item/{{{ns}}}bundle")
        if found is None:
            emit_error(f"no bundle for {bare}'s device {device} in {namespace}", **tag)
            return
        pre_attr = attr or "preKeyId"
        spk_attr = attr or "signedPreKeyId"
        ids = sorted(int(e.get(pre_attr)) for e in found.iter(f"{{{ns}}}{prekey}"))
        spk = next(iter(found.iter(f"{{{ns}}}{signed}")), None)
        emit({"event": "bundle", "jid": bare, "device": device, "namespace": namespace,
              "prekeys": ids, "signed_prekey": int(spk.get(spk_attr)) if spk is not None else None,
              **tag})

    async def refresh(self, sm: SessionManager, bare: str) -> None:
        for ns in self.omemo.loaded_namespaces():
            try:
                await sm.refresh_device_list(ns, bare)
            except omemo.DeviceListDownloadFailed:
                pass  # no such node (yet): nothing to update

    async def send_encrypted(self, to: JID, body: str, namespace: Optional[str], refresh: bool,
                             tag: Dict[str, Any]) -> None:
        sm = await self.omemo.get_session_manager()
        loaded = self.omemo.loaded_namespaces()
        if namespace is not None:
            ns = SHORT.get(namespace)
            if ns not in loaded:
                emit_error(f"namespace {namespace!r} is not enabled here", **tag)
                return
            order = [ns]
        else:
            order = loaded
        if refresh:
            await self.refresh(sm, to.bare)
            await self.refresh(sm, self.boundjid.bare)
        plaintexts = {}
        if TWO in loaded:
            plaintexts[TWO] = sce_envelope(body, to.bare, self.boundjid.bare)
        if OLD in loaded:
            plaintexts[OLD] = body.encode("utf-8")
        messages, errors = await sm.encrypt(frozenset({to.bare}), plaintexts,
                                            backend_priority_order=order)
        msg = self.make_message(mto=to, mtype="chat")
        msg["body"] = self.omemo.fallback_message
        used: List[str] = []
        for m in sorted(messages.keys(), key=lambda m: order.index(m.namespace)):
            elt = (twomemo.etree.serialize_message(m) if m.namespace == TWO
                   else oldmemo.etree.serialize_message(m))
            msg.append(elt)
            used.append(m.namespace)
        if used:
            msg["eme"]["namespace"] = used[0]
            msg["eme"]["name"] = "OMEMO"
        msg.enable("store")
        msg.send()
        emit({"event": "sent", "to": str(to), "id": msg["id"], "encrypted": True,
              "namespaces": used,
              "errors": [f"{e.namespace} {e.bare_jid}:{e.device_id}: {describe(e.exception)}"
                         for e in errors], **tag})


def read_stdin(loop: asyncio.AbstractEventLoop, peer: Peer) -> None:
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
            if not isinstance(cmd, dict):
                raise ValueError("not an object")
        except ValueError as e:
            loop.call_soon_threadsafe(emit_error, f"bad command line {line!r}: {e}")
            continue
        loop.call_soon_threadsafe(peer.commands.put_nowait, cmd)
    loop.call_soon_threadsafe(peer.commands.put_nowait, None)  # EOF: quit


async def amain(args: argparse.Namespace) -> int:
    with open(args.password_file, "r", encoding="utf-8") as f:
        password = f.read().strip()
    namespaces = []
    for part in args.namespaces.split(","):
        part = part.strip()
        if part not in SHORT:
            raise SystemExit(f"unknown namespace {part!r} (use oldmemo, twomemo)")
        namespaces.append(SHORT[part])
    os.makedirs(args.state, exist_ok=True)
    host, _, port = args.server.rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit(f"--server must be HOST:PORT, got {args.server!r}")

    peer = Peer(args, password, namespaces)
    peer.done = asyncio.Event()
    peer.exit_code = 0
    peer.server_address = (host.strip("[]"), int(port))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, peer.quit, 0)
    threading.Thread(target=read_stdin, args=(loop, peer), daemon=True).start()
    peer.connect(*peer.server_address)
    await peer.done.wait()
    return peer.exit_code


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--jid", required=True)
    p.add_argument("--password-file", required=True)
    p.add_argument("--server", required=True, help="HOST:PORT (STARTTLS)")
    p.add_argument("--ca-file", required=True)
    p.add_argument("--state", required=True, help="directory for the persistent OMEMO state")
    p.add_argument("--namespaces", default="oldmemo,twomemo")
    p.add_argument("--resource", default=None, help="default: slix-<random>")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    if args.resource is None:
        args.resource = "slix-" + secrets.token_hex(3)
    debug = args.verbose or bool(os.environ.get("SLIX_PEER_DEBUG"))
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    code = asyncio.run(amain(args))
    sys.stdout.flush()
    os._exit(code)  # the stdin reader thread may still be blocked in read()


if __name__ == "__main__":
    main()
