// Loopback-only RTCPeerConnection for the interop tests.
//
// Chromium gathers ICE candidates on every interface of the machine. Tests must only
// ever use 127.0.0.0/8, so this subclass of the native RTCPeerConnection:
//   - never uses ICE servers (no STUN/TURN traffic leaves the machine),
//   - drops every local candidate whose address is not 127.x.y.z before anyone sees it
//     (the `icecandidate` event, `onicecandidate`, and candidate lines in SDP),
//   - skips remote candidates that are not 127.x.y.z (addIceCandidate and SDP lines
//     in the remote description).
// Every decision is reported through `report(kind, data)` so the logs show exactly
// which candidates were signalled.
//
// With `noBundle` it also behaves like Dino: its offers carry no BUNDLE group, so each
// content gets an ICE/DTLS transport of its own (Chromium's 'max-compat' policy).
// With `videoCodecs` (e.g. ['VP8']) its offers and answers name only those video codecs
// (and their retransmission formats), through the standard setCodecPreferences: a peer
// that lacks VP9, say.

const NativePC = globalThis.RTCPeerConnection;

const IPV4_LOOPBACK = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function isLoopbackAddress(address) {
    const m = IPV4_LOOPBACK.exec(address || '');
    return !!m && m.slice(1).every(o => Number(o) <= 255);
}

// "candidate:FOUNDATION COMPONENT PROTOCOL PRIORITY ADDRESS PORT typ TYPE ..."
// (with or without the leading "a=").
export function candidateAddress(line) {
    const text = (line || '').replace(/^a=/, '').replace(/^candidate:/, '');
    const parts = text.trim().split(/\s+/);
    return parts.length >= 8 ? parts[4] : undefined;
}

export function isLoopbackCandidate(line) {
    return isLoopbackAddress(candidateAddress(line));
}

function summarize(line) {
    const parts = (line || '').replace(/^a=/, '').replace(/^candidate:/, '').trim().split(/\s+/);
    const typIdx = parts.indexOf('typ');
    return {
        protocol: parts[2],
        address: parts[4],
        port: Number(parts[5]),
        type: typIdx >= 0 ? parts[typIdx + 1] : undefined,
        candidate: line
    };
}

// Removes non-loopback a=candidate lines from an SDP blob.
export function filterSdp(sdp, onDropped) {
    if (!sdp) {
        return sdp;
    }
    const lines = sdp.split('\r\n');
    const kept = lines.filter(l => {
        if (!l.startsWith('a=candidate:')) {
            return true;
        }
        if (isLoopbackCandidate(l)) {
            return true;
        }
        if (onDropped) {
            onDropped(l);
        }
        return false;
    });
    return kept.join('\r\n');
}

// Removes the a=group:BUNDLE line of an SDP blob.
export function withoutBundle(sdp) {
    return sdp.split('\r\n').filter(l => !l.startsWith('a=group:BUNDLE')).join('\r\n');
}

export function makeLoopbackPeerConnectionClass(report, { allowTcp = true, noBundle = false, videoCodecs } = {}) {
    const wanted = (videoCodecs || []).map(c => `video/${c}`.toLowerCase());
    const restrictVideo = pc => {
        if (!wanted.length) {
            return;
        }
        const all = RTCRtpReceiver.getCapabilities('video').codecs;
        const kept = all.filter(c => wanted.includes(c.mimeType.toLowerCase()));
        const rtx = all.filter(c => c.mimeType.toLowerCase() === 'video/rtx');
        for (const t of pc.getTransceivers()) {
            const kind = (t.receiver && t.receiver.track && t.receiver.track.kind) || '';
            if (kind === 'video' && t.setCodecPreferences) {
                t.setCodecPreferences([...kept, ...rtx]);
            }
        }
        report('video-codecs', { kept: kept.map(c => `${c.mimeType} ${c.sdpFmtpLine || ''}`.trim()) });
    };
    const allowed = line => {
        if (!isLoopbackCandidate(line)) {
            return false;
        }
        if (!allowTcp && / tcp /i.test(` ${summarize(line).protocol} `)) {
            return false;
        }
        return true;
    };

    class LoopbackPeerConnection extends NativePC {
        constructor(config = {}) {
            const cfg = { ...config, iceServers: [] };
            if (noBundle) {
                cfg.bundlePolicy = 'max-compat';
            }
            super(cfg);
            this._userOnIce = null;
            this._iceListeners = new Map();
            super.addEventListener('icecandidate', e => {
                if (this._accept(e) && this._userOnIce) {
                    this._userOnIce.call(this, e);
                }
            });
        }

        // Decides (and reports) once per event whether it may be seen.
        _accept(e) {
            if (e.__loopbackVerdict !== undefined) {
                return e.__loopbackVerdict;
            }
            let verdict;
            if (!e.candidate || !e.candidate.candidate) {
                verdict = true;
                report('candidate', { dir: 'local', action: 'end-of-candidates' });
            } else if (allowed(e.candidate.candidate)) {
                verdict = true;
                report('candidate', { dir: 'local', action: 'signalled', sdpMid: e.candidate.sdpMid, ...summarize(e.candidate.candidate) });
            } else {
                verdict = false;
                report('candidate', { dir: 'local', action: 'dropped', sdpMid: e.candidate.sdpMid, ...summarize(e.candidate.candidate) });
            }
            try {
                Object.defineProperty(e, '__loopbackVerdict', { value: verdict });
            } catch (_) {
                // ignore: the verdict is then only computed again
            }
            return verdict;
        }

        get onicecandidate() {
            return this._userOnIce;
        }

        set onicecandidate(fn) {
            this._userOnIce = fn;
        }

        addEventListener(type, listener, options) {
            if (type !== 'icecandidate' || typeof listener !== 'function') {
                return super.addEventListener(type, listener, options);
            }
            const wrapped = e => {
                if (this._accept(e)) {
                    listener.call(this, e);
                }
            };
            this._iceListeners.set(listener, wrapped);
            return super.addEventListener(type, wrapped, options);
        }

        removeEventListener(type, listener, options) {
            if (type === 'icecandidate' && this._iceListeners.has(listener)) {
                const wrapped = this._iceListeners.get(listener);
                this._iceListeners.delete(listener);
                return super.removeEventListener(type, wrapped, options);
            }
            return super.removeEventListener(type, listener, options);
        }

        addIceCandidate(candidate, ...rest) {
            const line = candidate && typeof candidate === 'object' ? candidate.candidate : undefined;
            if (line) {
                if (!allowed(line)) {
                    report('candidate', { dir: 'remote', action: 'ignored', sdpMid: candidate.sdpMid, ...summarize(line) });
                    return Promise.resolve();
                }
                report('candidate', { dir: 'remote', action: 'added', sdpMid: candidate.sdpMid, ...summarize(line) });
            }
            return super.addIceCandidate(candidate, ...rest);
        }

        setRemoteDescription(desc, ...rest) {
            if (desc && desc.sdp) {
                const sdp = filterSdp(desc.sdp, l =>
                    report('candidate', { dir: 'remote', action: 'ignored', where: 'sdp', ...summarize(l) })
                );
                for (const l of sdp.split('\r\n')) {
                    if (l.startsWith('a=candidate:')) {
                        report('candidate', { dir: 'remote', action: 'added', where: 'sdp', ...summarize(l) });
                    }
                }
                desc = { type: desc.type, sdp };
            }
            return super.setRemoteDescription(desc, ...rest);
        }

        async createOffer(...args) {
            restrictVideo(this);
            const offer = await super.createOffer(...args);
            const sdp = filterSdp(offer.sdp);
            return { type: offer.type, sdp: noBundle ? withoutBundle(sdp) : sdp };
        }

        async createAnswer(...args) {
            restrictVideo(this);
            const answer = await super.createAnswer(...args);
            return { type: answer.type, sdp: filterSdp(answer.sdp) };
        }

        get localDescription() {
            const d = super.localDescription;
            return d ? { type: d.type, sdp: filterSdp(d.sdp), toJSON() { return { type: this.type, sdp: this.sdp }; } } : d;
        }

        get currentLocalDescription() {
            const d = super.currentLocalDescription;
            return d ? { type: d.type, sdp: filterSdp(d.sdp) } : d;
        }

        get pendingLocalDescription() {
            const d = super.pendingLocalDescription;
            return d ? { type: d.type, sdp: filterSdp(d.sdp) } : d;
        }

        setConfiguration(config = {}) {
            const cfg = { ...config, iceServers: [] };
            if (noBundle) {
                cfg.bundlePolicy = 'max-compat';
            }
            return super.setConfiguration(cfg);
        }
    }

    return LoopbackPeerConnection;
}
