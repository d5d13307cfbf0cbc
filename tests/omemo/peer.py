#!/usr/bin/env python3
"""Third-party OMEMO peer for Banter's interop tests: OMEMO 0.3 (eu.siacs.conversations.axolotl),
or with PEER_OMEMO=2 in the environment OMEMO 2 (urn:xmpp:omemo:2, the whole message an SCE
envelope, XEP-0420, as the tests' slix_peer.py writes and reads it).

Built on python-omemo's SessionManager with only the Oldmemo (or only the Twomemo) backend. Every invocation is one-shot;
all state (identity, pre keys, sessions, trust, published data, outbox) lives in STATE_DIR so that
later invocations continue the same sessions.

Usage:
  peer.py STATE_DIR init    --jid BARE_JID [--device-id N]
  peer.py STATE_DIR encrypt --to BARE_JID --device RID --bundle FILE --text TEXT
  peer.py STATE_DIR decrypt --from BARE_JID --device SID --bundle FILE --message FILE

Output (stdout):
  init:    {"device_id": int, "bundle": "<bundle .../>", "device_list": "<list .../>"}
  encrypt: the <encrypted xmlns='eu.siacs.conversations.axolotl'> element, one line
  decrypt: {"text": "..."} or {"text": null} for an empty (key transport / ratchet) message
Errors go to stderr, exit status 1 (2 for usage errors). Set PEER_DEBUG=1 for tracebacks and
python-omemo debug logging on stderr.

STATE_DIR layout:
  storage.json       omemo.Storage key/value data (rewritten atomically on every change)
  meta.json          {"jid": own bare JID}
  bundle.xml         own bundle as last "published" (_upload_bundle)
  device_list.json   own device ids as last "published" (_upload_device_list)
  device_list.xml    the same, as a <list/> element
  outbox-N.xml       <encrypted/> elements the library wanted to send on its own (_send_message),
                     N = 1, 2, ...; outbox-N.json holds {"to": bare JID, "n": N} for each
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
import traceback
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape as xml_escape, quoteattr
from typing import Any, Dict, FrozenSet, Optional

import omemo
from omemo import (
    Bundle,
    BundleNotFound,
    DeviceInformation,
    DeviceList,
    JSONType,
    Just,
    Maybe,
    Message,
    Nothing,
    TrustLevel,
)
import oldmemo
import oldmemo.etree
import twomemo
import twomemo.etree

TWO = os.environ.get("PEER_OMEMO", "") == "2"
ETREE: Any = twomemo.etree if TWO else oldmemo.etree
NAMESPACE = twomemo.twomemo.NAMESPACE if TWO else oldmemo.oldmemo.NAMESPACE
SCE_NS = "urn:xmpp:sce:1"

NS = f"{{{NAMESPACE}}}"
ET.register_namespace("", NAMESPACE)

TRUSTED = "trusted"
DISTRUSTED = "distrusted"
UNDECIDED = "undecided"


class PeerError(Exception):
    """A user-facing error (bad arguments, missing state, ...)."""


def xml_text(element: ET.Element) -> str:
    return ET.tostring(element, encoding="unicode")


def write_atomic(path: str, data: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def read_json(path: str, default: Any) -> Any:
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return default


def find_element(path: str, local_name: str) -> ET.Element:
    """Parse FILE and return the first {axolotl}local_name element (the root or a descendant)."""
    try:
        with open(path, "r", encoding="utf-8") as f:
            root = ET.fromstring(f.read())
    except OSError as e:
        raise PeerError(f"cannot read {path}: {e}") from e
    except ET.ParseError as e:
        raise PeerError(f"{path}: not well-formed XML: {e}") from e
    tag = f"{NS}{local_name}"
    if root.tag == tag:
        return root
    found = root.find(f".//{tag}")
    if found is None:
        raise PeerError(f"{path}: no <{local_name} xmlns='{NAMESPACE}'> element (root is {root.tag})")
    return found


class JSONFileStorage(omemo.Storage):
    """omemo.Storage backed by one JSON object in a file; loaded at start, rewritten on each change."""

    def __init__(self, path: str) -> None:
        super().__init__(disable_cache=True)
        self.__path = path
        data = read_json(path, {})
        if not isinstance(data, dict):
            raise PeerError(f"{path}: corrupt storage (not a JSON object)")
        self.__data: Dict[str, JSONType] = data

    def __flush(self) -> None:
        write_atomic(self.__path, json.dumps(self.__data, sort_keys=True, indent=0))

    async def _load(self, key: str) -> Maybe[JSONType]:
        if key in self.__data:
            return Just(self.__data[key])
        return Nothing()

    async def _store(self, key: str, value: JSONType) -> None:
        self.__data[key] = json.loads(json.dumps(value))  # deep copy, and fail early if not JSON
        self.__flush()

    async def _delete(self, key: str) -> None:
        if key in self.__data:
            del self.__data[key]
            self.__flush()


class Context:
    """What the static SessionManager hooks need: where the state is and who the other side is."""

    def __init__(self, state_dir: str, own_jid: str) -> None:
        self.state_dir = state_dir
        self.own_jid = own_jid
        self.peer_jid: Optional[str] = None
        self.peer_device: Optional[int] = None
        self.peer_bundle_file: Optional[str] = None

    def path(self, name: str) -> str:
        return os.path.join(self.state_dir, name)


CTX: Optional[Context] = None


def ctx() -> Context:
    assert CTX is not None
    return CTX


class PeerSessionManager(omemo.SessionManager):
    @staticmethod
    async def _upload_bundle(bundle: Bundle) -> None:
        if bundle.namespace != NAMESPACE:
            raise omemo.UnknownNamespace(bundle.namespace)
        write_atomic(ctx().path("bundle.xml"), xml_text(ETREE.serialize_bundle(bundle)) + "\n")

    @staticmethod
    async def _download_bundle(namespace: str, bare_jid: str, device_id: int) -> Bundle:
        if namespace != NAMESPACE:
            raise omemo.UnknownNamespace(namespace)
        c = ctx()
        if bare_jid == c.own_jid:
            own_ids = read_json(c.path("device_list.json"), [])
            if device_id in own_ids and os.path.exists(c.path("bundle.xml")):
                return ETREE.parse_bundle(find_element(c.path("bundle.xml"), "bundle"), bare_jid, device_id)
            raise BundleNotFound(f"no bundle for own device {device_id}")
        if bare_jid == c.peer_jid and device_id == c.peer_device and c.peer_bundle_file is not None:
            try:
                return ETREE.parse_bundle(find_element(c.peer_bundle_file, "bundle"), bare_jid, device_id)
            except PeerError:
                raise
            except Exception as e:
                raise PeerError(f"{c.peer_bundle_file}: invalid bundle: {type(e).__name__}: {e}") from e
        raise BundleNotFound(f"no bundle known for {bare_jid} device {device_id}")

    @staticmethod
    async def _delete_bundle(namespace: str, device_id: int) -> None:
        if namespace != NAMESPACE:
            raise omemo.UnknownNamespace(namespace)
        try:
            os.unlink(ctx().path("bundle.xml"))
        except FileNotFoundError:
            pass

    @staticmethod
    async def _upload_device_list(namespace: str, device_list: DeviceList) -> None:
        if namespace != NAMESPACE:
            raise omemo.UnknownNamespace(namespace)
        c = ctx()
        write_atomic(c.path("device_list.json"), json.dumps(sorted(device_list.keys())) + "\n")
        write_atomic(c.path("device_list.xml"), xml_text(ETREE.serialize_device_list(device_list)) + "\n")

    @staticmethod
    async def _download_device_list(namespace: str, bare_jid: str) -> DeviceList:
        if namespace != NAMESPACE:
            raise omemo.UnknownNamespace(namespace)
        c = ctx()
        if bare_jid == c.own_jid:
            return {int(d): None for d in read_json(c.path("device_list.json"), [])}
        if bare_jid == c.peer_jid and c.peer_device is not None:
            return {c.peer_device: None}
        return {}

    async def _evaluate_custom_trust_level(self, device: DeviceInformation) -> TrustLevel:
        name = device.trust_level_name
        if name == TRUSTED:
            return TrustLevel.TRUSTED
        if name == DISTRUSTED:
            return TrustLevel.DISTRUSTED
        if name == UNDECIDED:
            return TrustLevel.UNDECIDED
        raise omemo.UnknownTrustLevel(name)

    async def _make_trust_decision(self, undecided: FrozenSet[DeviceInformation], identifier: Optional[str]) -> None:
        # Blind trust: every new identity key is trusted.
        for device in undecided:
            await self.set_trust(device.bare_jid, device.identity_key, TRUSTED)

    @staticmethod
    async def _send_message(message: Message, bare_jid: str) -> None:
        c = ctx()
        n = 1
        while os.path.exists(c.path(f"outbox-{n}.xml")):
            n += 1
        write_atomic(c.path(f"outbox-{n}.json"), json.dumps({"to": bare_jid, "n": n}) + "\n")
        write_atomic(c.path(f"outbox-{n}.xml"), xml_text(ETREE.serialize_message(message)) + "\n")


async def open_manager(state_dir: str, jid: Optional[str], device_id: Optional[int]) -> PeerSessionManager:
    global CTX
    meta_path = os.path.join(state_dir, "meta.json")
    meta = read_json(meta_path, None)
    if meta is None:
        if jid is None:
            raise PeerError(f"{state_dir} is not initialized (run: peer.py {state_dir} init --jid JID)")
        if "/" in jid or "@" not in jid:
            raise PeerError(f"--jid must be a bare JID (local@domain), got {jid!r}")
        os.makedirs(state_dir, exist_ok=True)
        meta = {"jid": jid}
        write_atomic(meta_path, json.dumps(meta) + "\n")
    elif jid is not None and jid != meta["jid"]:
        raise PeerError(f"{state_dir} belongs to {meta['jid']}, not {jid}")
    own_jid: str = meta["jid"]
    CTX = Context(state_dir, own_jid)

    storage = JSONFileStorage(os.path.join(state_dir, "storage.json"))
    existing = (await storage.load_primitive("/own_device_id", int)).maybe(None)
    if device_id is not None:
        if existing is not None and existing != device_id:
            raise PeerError(f"{state_dir} already has device id {existing}, not {device_id}")
        if not 1 <= device_id < 2 ** 31 - 1:
            raise PeerError("--device-id must be in 1..2147483646")

    cls = PeerSessionManager
    if existing is None and device_id is not None:
        # SessionManager.create draws the id as randbelow(MAX - MIN) + MIN: pin it to exactly device_id.
        cls = type("PinnedPeerSessionManager", (PeerSessionManager,), {
            "DEVICE_ID_MIN": device_id,
            "DEVICE_ID_MAX": device_id + 1,
        })

    manager = await cls.create(
        backends=[twomemo.Twomemo(storage, 1000, None) if TWO else oldmemo.Oldmemo(storage)],
        storage=storage,
        own_bare_jid=own_jid,
        initial_own_label=None,
        undecided_trust_level_name=UNDECIDED,
        async_framework=omemo.AsyncFramework.ASYNCIO,
    )
    # Leave history-synchronization mode: used pre keys are deleted at once and the automatic empty
    # message answering a key exchange is "sent" (to the outbox) right away instead of being queued.
    await manager.after_history_sync()
    return manager


def set_peer(manager: PeerSessionManager, jid: str, device: int, bundle_file: str) -> None:
    if "/" in jid or "@" not in jid:
        raise PeerError(f"peer JID must be a bare JID (local@domain), got {jid!r}")
    if not os.path.isfile(bundle_file):
        raise PeerError(f"bundle file not found: {bundle_file}")
    c = ctx()
    if jid == c.own_jid:
        raise PeerError("peer JID equals own JID; not supported")
    c.peer_jid, c.peer_device, c.peer_bundle_file = jid, device, bundle_file


async def cmd_init(args: argparse.Namespace) -> None:
    manager = await open_manager(args.state_dir, args.jid, args.device_id)
    try:
        own, _ = await manager.get_own_device_information()
        c = ctx()
        with open(c.path("bundle.xml"), "r", encoding="utf-8") as f:
            bundle = f.read().strip()
        with open(c.path("device_list.xml"), "r", encoding="utf-8") as f:
            device_list = f.read().strip()
        print(json.dumps({"device_id": own.device_id, "bundle": bundle, "device_list": device_list}))
    finally:
        await manager.shutdown()


async def cmd_encrypt(args: argparse.Namespace) -> None:
    manager = await open_manager(args.state_dir, None, None)
    try:
        set_peer(manager, args.to, args.device, args.bundle)
        await manager.update_device_list(NAMESPACE, args.to, {args.device: None})
        plaintext = sce_envelope(args.text, args.to, ctx().own_jid) if TWO else args.text.encode("utf-8")
        messages, errors = await manager.encrypt(frozenset({args.to}), {NAMESPACE: plaintext})
        for error in errors:
            print(f"warning: {error.bare_jid}/{error.device_id}: {type(error.exception).__name__}: "
                  f"{error.exception}", file=sys.stderr)
        target = [m for m in messages if m.namespace == NAMESPACE]
        if len(target) != 1:
            raise PeerError(f"expected one {NAMESPACE} message, got {len(target)}")
        message = target[0]
        if not any(k.device_id == args.device for k, _ in message.keys):
            raise PeerError(f"message has no key for device {args.device}")
        print(xml_text(ETREE.serialize_message(message)))
    finally:
        await manager.shutdown()


async def cmd_decrypt(args: argparse.Namespace) -> None:
    manager = await open_manager(args.state_dir, None, None)
    try:
        set_peer(manager, args.sender, args.device, args.bundle)
        element = find_element(args.message, "encrypted")
        header = element.find(f"{NS}header")
        if header is not None and header.get("sid") is not None and int(header.get("sid", "0")) != args.device:
            raise PeerError(f"message sid={header.get('sid')} but --device {args.device}")
        await manager.update_device_list(NAMESPACE, args.sender, {args.device: None})
        if TWO:
            message = twomemo.etree.parse_message(element, args.sender)
        else:
            message = await oldmemo.etree.parse_message(element, args.sender, ctx().own_jid, manager)
        plaintext, _device, _key = await manager.decrypt(message)
        if plaintext is None:
            text = None
        elif TWO:
            text = sce_body(plaintext, args.sender)
        else:
            text = plaintext.decode("utf-8")
        print(json.dumps({"text": text}, ensure_ascii=False))
    finally:
        await manager.shutdown()


def sce_envelope(body: str, to_bare: str, from_bare: str) -> bytes:
    """What OMEMO 2 encrypts: the body in an SCE envelope, written as slix_peer.py writes it."""
    return (
        f"<envelope xmlns='{SCE_NS}'>"
        f"<content><body xmlns='jabber:client'>{xml_escape(body)}</body></content>"
        f"<rpad>cGFk</rpad>"
        f"<to jid={quoteattr(to_bare)}/>"
        f"<from jid={quoteattr(from_bare)}/>"
        f"</envelope>"
    ).encode("utf-8")


def sce_body(plaintext: bytes, sender_bare: str) -> Optional[str]:
    """The body of an SCE envelope whose <from/> names the sender (else an error)."""
    env = ET.fromstring(plaintext.decode("utf-8"))
    if env.tag != f"{{{SCE_NS}}}envelope":
        raise PeerError(f"not an SCE envelope: {env.tag}")
    frm = env.find(f"{{{SCE_NS}}}from")
    if frm is None or frm.get("jid", "").split("/")[0] != sender_bare:
        raise PeerError("the SCE envelope does not name the sender in <from/>")
    body = env.find(f"{{{SCE_NS}}}content/{{jabber:client}}body")
    return None if body is None else (body.text or "")


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="peer.py", description="OMEMO 0.3 (or, PEER_OMEMO=2, OMEMO 2) test peer backed by python-omemo")
    p.add_argument("state_dir", metavar="STATE_DIR")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)

    s = sub.add_parser("init", help="create (or load) the state and print device id, bundle, device list")
    s.add_argument("--jid", required=True)
    s.add_argument("--device-id", type=int, default=None)
    s.set_defaults(func=cmd_init)

    s = sub.add_parser("encrypt", help="encrypt TEXT for one device of another JID")
    s.add_argument("--to", required=True)
    s.add_argument("--device", type=int, required=True)
    s.add_argument("--bundle", required=True)
    s.add_argument("--text", required=True)
    s.set_defaults(func=cmd_encrypt)

    s = sub.add_parser("decrypt", help="decrypt an <encrypted/> element")
    s.add_argument("--from", dest="sender", required=True)
    s.add_argument("--device", type=int, required=True)
    s.add_argument("--bundle", required=True)
    s.add_argument("--message", required=True)
    s.set_defaults(func=cmd_decrypt)
    return p


def main(argv: Optional[list] = None) -> int:
    args = build_parser().parse_args(argv)
    debug = os.environ.get("PEER_DEBUG", "") not in ("", "0")
    logging.basicConfig(level=logging.DEBUG if debug else logging.ERROR, stream=sys.stderr)
    if args.command != "init" and not os.path.exists(os.path.join(args.state_dir, "meta.json")):
        print(f"error: {args.state_dir} is not initialized", file=sys.stderr)
        return 1
    try:
        asyncio.run(args.func(args))
    except PeerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except Exception as e:  # every library failure: report and exit non-zero
        if debug:
            traceback.print_exc()
        cause = f" (caused by {type(e.__cause__).__name__}: {e.__cause__})" if e.__cause__ else ""
        print(f"error: {type(e).__name__}: {e}{cause}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
