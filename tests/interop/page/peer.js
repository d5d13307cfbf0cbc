// The browser side of the interop peer: StanzaJS over WebSocket, Jingle audio calls
// with a WebAudio sine tone, loopback-only ICE, measurement of the received audio.
// Driven by ../peer.mjs through window.runPeer(opts); events go out through
// window.peerEvent(obj) (a Playwright binding) as plain JSON objects.

import * as XMPP from 'stanza';
import { makeLoopbackPeerConnectionClass, isLoopbackAddress } from './loopback.js';
import { defineJmi } from './jmi.js';
import { toneStream, remoteAnalyser, inboundAudioStats, audioContext } from './audio.js';
import { patternStream, remoteVideoReader, videoStats } from './video.js';

const { JID } = XMPP;

function emit(event, data = {}) {
    const obj = { event, ...data };
    try {
        if (window.peerEvent) {
            window.peerEvent(obj);
        } else {
            console.log(JSON.stringify(obj));
        }
    } catch (e) {
        console.log('emit failed', e);
    }
}

function randomId() {
    const b = new Uint8Array(9);
    crypto.getRandomValues(b);
    return Array.from(b, x => x.toString(36).padStart(2, '0')).join('').slice(0, 16);
}

const sleep = ms => new Promise(r => setTimeout(r, ms));

export async function runPeer(opts) {
    const o = {
        mode: 'answer',
        tone: 660,
        duration: 5,
        answerDelay: 500,
        measureAfter: 2,
        verbose: false,
        verboseAll: false,
        jmi: undefined,
        jmiRespond: true,
        allowTcp: true,
        expectHz: undefined,
        tolerance: 0.03,
        minProminenceDb: 20,
        minLevel: 0.005,
        requireLoopbackPair: false,
        video: false,
        noBundle: false,
        videoCodecs: undefined,
        restartIceAt: undefined,
        expectAfter: undefined,
        ...opts
    };

    // Running the AudioContext early: it needs the autoplay flag, and fails loudly here
    // rather than in the middle of a call.
    const ctx = await audioContext();
    emit('audio-context', { state: ctx.state, sample_rate: ctx.sampleRate });

    const LoopbackPC = makeLoopbackPeerConnectionClass((kind, data) => emit(kind, data), {
        allowTcp: o.allowTcp,
        noBundle: o.noBundle,
        videoCodecs: o.videoCodecs
    });

    const client = XMPP.createClient({
        jid: o.jid,
        password: o.password,
        resource: o.resource || `stanza-${randomId().slice(0, 6)}`,
        transports: { websocket: o.ws, bosh: false },
        useStreamManagement: false,
        jingle: {
            iceServers: [],
            trickleIce: true,
            advertiseVideo: o.video || o.noBundle,
            advertiseFileTransfer: false,
            createPeerConnection: (_session, cfg) => new LoopbackPC(cfg)
        }
    });
    if (o.jmiRespond || o.jmi) {
        defineJmi(client);
    }
    if (o.noBundle) {
        // Dino's caps: video calls, but one transport per content (no XEP-0338).
        client.disco.features.get('').delete(XMPP.Namespaces.NS_JINGLE_GROUPING_0);
    }

    const isJingleXml = xml => /urn:xmpp:jingle/.test(xml);
    client.on('raw:outgoing', xml => {
        if (o.verboseAll || (o.verbose && isJingleXml(xml))) {
            emit('xml', { dir: 'out', xml });
        }
    });
    client.on('raw:incoming', xml => {
        if (o.verboseAll || (o.verbose && isJingleXml(xml))) {
            emit('xml', { dir: 'in', xml });
        }
    });
    if (o.verboseAll) {
        client.jingle.on('log', (level, message) => emit('jingle-log', { level, message: String(message) }));
    }

    const peerBare = o.peer ? JID.toBare(o.peer) : undefined;
    const peerIsFull = !!(o.peer && JID.getResource(o.peer));
    const presences = new Map(); // bare -> Set(full)
    const subscribedBack = new Set();

    const st = {
        session: undefined,
        sid: undefined,
        peerFull: undefined,
        via: undefined, // 'jingle' | 'jmi'
        startedAt: undefined,
        accepted: false,
        connected: false,
        activeAt: undefined,
        iceRestarts: 0,
        localHangup: false,
        ended: false,
        endReason: undefined,
        endedBy: undefined,
        analyser: undefined,
        measurements: [],
        pairs: new Set(),
        nonLoopbackPair: false,
        timers: [],
        pendingJmi: undefined, // callee: { id, from } after our proceed
        outgoingJmi: undefined, // caller: { id, to }
        finished: false,
        videoReader: undefined,
        videoSamples: [], // { width, height, number } of the remote pictures shown
        videoStats: {}
    };

    let resolveRun;
    const done = new Promise(r => (resolveRun = r));

    function callEvent(state, extra = {}) {
        emit('call', {
            state,
            peer: st.peerFull || (st.session && st.session.peerID) || o.peer,
            sid: st.sid,
            via: st.via,
            ...extra
        });
    }

    async function finish(extraError) {
        if (st.finished) {
            return;
        }
        st.finished = true;
        for (const t of st.timers) {
            clearTimeout(t);
            clearInterval(t);
        }
        const good = st.measurements.filter(
            m => m.dominant_hz && m.prominence_db >= o.minProminenceDb && m.level >= o.minLevel
        );
        const matches = o.expectHz
            ? good.filter(m => Math.abs(m.dominant_hz - o.expectHz) <= Math.max(o.expectHz * o.tolerance, 10))
            : good;
        const last = good[good.length - 1];
        const loopbackOk = !(o.requireLoopbackPair && (st.nonLoopbackPair || st.pairs.size === 0));
        // Video: the numbers read from the pictures shown increase, and enough of them.
        const numbers = st.videoSamples.map(s => s.number).filter(n => n !== null);
        const increasing = numbers.every((n, i) => i === 0 || n > numbers[i - 1]);
        const videoOk = !o.video || (numbers.length >= 4 && increasing);
        // Heard again late in the call (after an ICE restart or an outage).
        const lateOk =
            o.expectAfter === undefined || matches.some(m => m.since_active_ms >= o.expectAfter * 1000);
        const result = {
            ok: !!st.activeAt && matches.length > 0 && !extraError && loopbackOk && videoOk && lateOk,
            late_ok: o.expectAfter === undefined ? undefined : lateOk,
            ice_restarts: st.iceRestarts,
            transport: st.transport,
            video: o.video
                ? { ok: videoOk, numbers, samples: st.videoSamples.length, ...st.videoStats }
                : undefined,
            selected_pairs: [...st.pairs],
            loopback_pair: st.pairs.size ? !st.nonLoopbackPair : null,
            active: !!st.activeAt,
            setup_ms: st.activeAt && st.startedAt ? Math.round(st.activeAt - st.startedAt) : null,
            via: st.via,
            sid: st.sid,
            peer: st.peerFull,
            dominant_hz: last ? last.dominant_hz : null,
            good_measurements: good.length,
            matching_measurements: o.expectHz ? matches.length : undefined,
            measurements: st.measurements.length,
            end_reason: st.endReason,
            ended_by: st.endedBy,
            error: extraError
        };
        if (st.analyser) {
            st.analyser.close();
        }
        if (st.videoReader) {
            st.videoReader.close();
        }
        await sleep(500); // lets the session-terminate / finish leave
        try {
            client.disconnect();
        } catch (_) {
            // already gone
        }
        await sleep(200);
        resolveRun(result);
    }

    function fail(message) {
        emit('error', { message });
        finish(message);
    }

    // ------------------------------------------------------------------ media

    async function measureOnce() {
        const s = st.session;
        const m = st.analyser ? st.analyser.measure() : { dominant_hz: null, level: 0 };
        let stats = {};
        try {
            if (s && s.pc && s.pc.signalingState !== 'closed') {
                stats = await inboundAudioStats(s.pc);
            }
        } catch (_) {
            // stats are a bonus
        }
        if (stats.selected_pair && !st.pairs.has(stats.selected_pair)) {
            st.pairs.add(stats.selected_pair);
            const loop = isLoopbackAddress(stats.selected_local) && isLoopbackAddress(stats.selected_remote);
            if (!loop) {
                st.nonLoopbackPair = true;
                emit('warning', {
                    message: `selected ICE pair is not loopback on both ends: ${stats.selected_pair} ` +
                        '(Chromium pairs its other interfaces\' sockets with the 127.0.0.1 candidates; ' +
                        'run inside a network namespace with only lo to avoid it)'
                });
            }
        }
        const rec = {
            ...m,
            ...stats,
            since_active_ms: Math.round(performance.now() - st.activeAt),
            analyser: !!st.analyser
        };
        st.measurements.push(rec);
        emit('audio', rec);
        if (o.video && s && s.pc && s.pc.signalingState !== 'closed') {
            try {
                st.videoStats = await videoStats(s.pc);
                emit('video-stats', st.videoStats);
            } catch (_) {
                // stats are a bonus
            }
        }
    }

    function sampleVideo() {
        if (!st.videoReader) {
            return;
        }
        const v = st.videoReader.sample();
        if (v.width) {
            st.videoSamples.push(v);
            emit('video', v);
        }
    }

    function maybeActive() {
        if (st.activeAt || !st.accepted || !st.connected || st.ended) {
            return;
        }
        st.activeAt = performance.now();
        callEvent('active', { setup_ms: Math.round(st.activeAt - st.startedAt) });
        const measureStart = Math.min(o.measureAfter, Math.max(o.duration - 0.5, 0.5));
        st.timers.push(
            setTimeout(() => {
                measureOnce();
                st.timers.push(setInterval(measureOnce, 1000));
                if (o.video) {
                    st.timers.push(setInterval(sampleVideo, 250));
                }
            }, measureStart * 1000)
        );
        st.timers.push(setTimeout(hangUp, o.duration * 1000));
        if (o.restartIceAt !== undefined) {
            st.timers.push(
                setTimeout(() => {
                    st.iceRestarts += 1;
                    emit('ice-restart', { by: 'us' });
                    st.session.restartIce();
                    // Whether the new generation took over: the transport's selected
                    // pair changed again and ICE is connected.
                    st.timers.push(setTimeout(recordTransport, 3000));
                }, o.restartIceAt * 1000)
            );
        }
    }

    async function recordTransport() {
        const s = st.session;
        if (!s || !s.pc || s.pc.signalingState === 'closed') {
            return;
        }
        const stats = await s.pc.getStats();
        stats.forEach(r => {
            if (r.type === 'transport') {
                st.transport = {
                    pair_changes: r.selectedCandidatePairChanges,
                    ice_state: r.iceState,
                    local_ufrag: r.iceLocalUsernameFragment
                };
            }
        });
        emit('transport', st.transport || {});
    }

    function hangUp() {
        if (st.ended || !st.session) {
            return;
        }
        callEvent('hanging-up');
        st.localHangup = true;
        st.session.end('success');
    }

    function attachSession(session) {
        st.session = session;
        st.sid = session.sid;
        st.peerFull = session.peerID;
        useRemoteAudio(session);
        useRemoteVideo(session);
        session.pc.addEventListener('connectionstatechange', () => {
            const state = session.pc.connectionState;
            emit('ice', { state, ice: session.pc.iceConnectionState });
            if (state === 'connected') {
                st.connected = true;
                maybeActive();
            }
        });
    }

    // The callee's tracks arrive before 'jingle:incoming' attaches the session.
    function useRemoteVideo(session) {
        if (session === st.session && !st.videoReader && session.__remoteVideo) {
            st.videoReader = remoteVideoReader(session.__remoteVideo);
        }
    }

    async function useRemoteAudio(session) {
        if (session !== st.session || st.analyser || !session.__remoteAudio) {
            return;
        }
        const placeholder = { measure: () => ({ dominant_hz: null, level: 0 }), close() {} };
        st.analyser = placeholder; // no second analyser while this one starts
        st.analyser = await remoteAnalyser(session.__remoteAudio);
    }

    // Fires for the callee while the remote offer is applied, before 'jingle:incoming'.
    // StanzaJS does not end a session whose session-initiate (or other request) got an
    // IQ error back; report it and give up on the call.
    client.jingle.on('log:error', (message, req) => {
        if (message !== 'Received error response' || !req || !req.jingle || req.jingle.sid !== st.sid) {
            return;
        }
        const err = req.error || {};
        emit('error', { message: `IQ error from ${req.from}: ${err.condition || '?'} ${err.jingleError || ''}`.trim() });
        if (st.session && !st.accepted && !st.ended) {
            st.localHangup = true;
            st.session.end('general-error', true);
        }
    });

    client.jingle.on('peerTrackAdded', (session, track, stream) => {
        emit('track', {
            kind: track.kind,
            id: track.id,
            stream: stream ? stream.id : null,
            sid: session.sid,
            note: stream ? undefined : 'no msid in remote description: wrapped the track in a new MediaStream'
        });
        if (track.kind === 'video' && !session.__remoteVideo) {
            session.__remoteVideo = new MediaStream([track]);
            useRemoteVideo(session);
            return;
        }
        if (track.kind !== 'audio' || session.__remoteAudio) {
            return;
        }
        session.__remoteAudio = stream || new MediaStream([track]);
        useRemoteAudio(session);
    });

    client.on('jingle:ringing', session => {
        if (session === st.session) {
            callEvent('ringing', { direction: 'out', by: 'session-info' });
        }
    });

    client.on('jingle:accepted', session => {
        if (session === st.session) {
            st.accepted = true;
            callEvent('accepted', { direction: 'out' });
            maybeActive();
        }
    });

    client.on('jingle:terminated', (session, reason) => {
        if (session !== st.session || st.ended) {
            return;
        }
        st.ended = true;
        st.endReason = reason && reason.condition;
        st.endedBy = st.localHangup ? 'local' : 'peer';
        callEvent('ended', { reason: st.endReason, text: reason && reason.text, by: st.endedBy });
        if (st.via === 'jmi' && st.localHangup && st.peerFull) {
            sendJmi(st.peerFull, 'finish', st.sid, { reason: { condition: st.endReason || 'success' } });
        }
        finish();
    });

    // ------------------------------------------------------------------ JMI

    function sendJmi(to, type, id, extra = {}) {
        const msg = { to, type: 'chat', jmi: { type, id, ...extra } };
        if (type === 'propose' || type === 'finish') {
            msg.processingHints = { store: true };
        }
        client.sendMessage(msg);
    }

    // ------------------------------------------------------------------ caller

    async function callFull(full, sid) {
        st.peerFull = full;
        if (!st.startedAt) {
            st.startedAt = performance.now();
        }
        if (!st.via) {
            st.via = 'jingle';
        }
        const stream = await toneStream(o.tone);
        if (o.video) {
            stream.addTrack(patternStream().getVideoTracks()[0]);
        }
        const session = client.jingle.createMediaSession(full, sid, stream);
        attachSession(session);
        callEvent('calling', { direction: 'out', tone_hz: o.tone });
        await session.start();
    }

    function callBareViaJmi(bare) {
        const id = randomId();
        st.via = 'jmi';
        st.sid = id;
        st.startedAt = performance.now();
        st.outgoingJmi = { id, to: bare };
        sendJmi(bare, 'propose', id, { media: o.video ? ['audio', 'video'] : ['audio'] });
        callEvent('proposing', { direction: 'out', to: bare });
    }

    let waitingForPresence = false;
    function callBareViaPresence(bare) {
        const known = presences.get(bare);
        if (known && known.size) {
            const full = [...known][0];
            emit('target', { full, how: 'presence (already known)' });
            callFull(full).catch(e => fail(`call failed: ${e}`));
            return;
        }
        waitingForPresence = true;
        emit('waiting', { for: 'available presence', from: bare });
    }

    // ------------------------------------------------------------------ callee

    async function answer(session) {
        const stream = await toneStream(o.tone);
        if (o.video) {
            stream.addTrack(patternStream().getVideoTracks()[0]);
        }
        for (const track of stream.getTracks()) {
            session.addTrack(track, stream);
        }
        await session.accept();
        st.accepted = true;
        callEvent('accepted', { direction: 'in', tone_hz: o.tone });
        maybeActive();
    }

    client.on('jingle:incoming', session => {
        const from = session.peerID;
        if (o.mode !== 'answer' || st.session) {
            emit('declined', { from, sid: session.sid, reason: 'busy' });
            session.end('busy');
            return;
        }
        if (peerBare && JID.toBare(from) !== peerBare) {
            emit('declined', { from, sid: session.sid, reason: 'not --peer' });
            session.decline();
            return;
        }
        attachSession(session);
        if (st.pendingJmi && st.pendingJmi.id === session.sid && st.pendingJmi.from === from) {
            // Already rang and proceeded over JMI: accept right away.
            callEvent('initiated', { direction: 'in' });
            answer(session).catch(e => fail(`accept failed: ${e}`));
            return;
        }
        st.via = 'jingle';
        st.startedAt = performance.now();
        callEvent('ringing', { direction: 'in', by: 'session-initiate' });
        session.ring();
        st.timers.push(
            setTimeout(() => answer(session).catch(e => fail(`accept failed: ${e}`)), o.answerDelay)
        );
    });

    client.on('message', msg => {
        const jmi = msg.jmi;
        if (!jmi || !jmi.type) {
            return;
        }
        const from = msg.from;
        emit('jmi', { dir: 'in', type: jmi.type, id: jmi.id, from, reason: jmi.reason && jmi.reason.condition });
        // ------------- as callee
        if (jmi.type === 'propose') {
            const audio = !jmi.media || jmi.media.includes('audio');
            if (o.mode !== 'answer' || !o.jmiRespond || st.session || st.pendingJmi || !audio) {
                sendJmi(from, 'reject', jmi.id, { reason: { condition: 'busy' } });
                return;
            }
            if (peerBare && JID.toBare(from) !== peerBare) {
                sendJmi(from, 'reject', jmi.id, { reason: { condition: 'decline' } });
                return;
            }
            st.via = 'jmi';
            st.sid = jmi.id;
            st.peerFull = from;
            st.startedAt = performance.now();
            st.pendingJmi = { id: jmi.id, from };
            sendJmi(from, 'ringing', jmi.id);
            callEvent('ringing', { direction: 'in', by: 'jmi-propose' });
            st.timers.push(
                setTimeout(() => {
                    if (st.ended || st.finished) {
                        return;
                    }
                    sendJmi(JID.toBare(client.jid), 'accept', jmi.id);
                    sendJmi(from, 'proceed', jmi.id);
                    callEvent('proceeded', { direction: 'in' });
                }, o.answerDelay)
            );
            return;
        }
        if (jmi.type === 'retract' && st.pendingJmi && st.pendingJmi.id === jmi.id && !st.session) {
            st.ended = true;
            st.endReason = (jmi.reason && jmi.reason.condition) || 'retract';
            st.endedBy = 'peer';
            callEvent('ended', { reason: st.endReason, by: 'peer', note: 'JMI retract' });
            finish();
            return;
        }
        // ------------- as caller
        const out = st.outgoingJmi;
        if (!out || out.id !== jmi.id) {
            return;
        }
        if (jmi.type === 'ringing') {
            callEvent('ringing', { direction: 'out', by: 'jmi-ringing', from });
        } else if (jmi.type === 'proceed') {
            if (st.session) {
                return; // another device proceeded after the first one
            }
            callFull(from, out.id).catch(e => fail(`call failed: ${e}`));
        } else if (jmi.type === 'reject') {
            st.ended = true;
            st.endReason = (jmi.reason && jmi.reason.condition) || 'decline';
            st.endedBy = 'peer';
            callEvent('ended', { reason: st.endReason, by: 'peer', note: 'JMI reject' });
            finish();
        }
    });

    // ------------------------------------------------------------------ XMPP session

    client.on('subscribe', pres => {
        const from = JID.toBare(pres.from);
        client.acceptSubscription(from);
        emit('subscription', { action: 'approved', jid: from });
        if (!subscribedBack.has(from)) {
            subscribedBack.add(from);
            client.subscribe(from);
            emit('subscription', { action: 'requested', jid: from });
        }
    });
    client.on('subscribed', pres => emit('subscription', { action: 'peer-approved', jid: JID.toBare(pres.from) }));

    client.on('available', pres => {
        const bare = JID.toBare(pres.from);
        if (!JID.getResource(pres.from) || bare === JID.toBare(client.jid)) {
            return;
        }
        if (!presences.has(bare)) {
            presences.set(bare, new Set());
        }
        if (!presences.get(bare).has(pres.from)) {
            presences.get(bare).add(pres.from);
            emit('presence', { from: pres.from, type: 'available' });
        }
        if (waitingForPresence && bare === peerBare) {
            waitingForPresence = false;
            emit('target', { full: pres.from, how: 'presence' });
            callFull(pres.from).catch(e => fail(`call failed: ${e}`));
        }
    });
    client.on('unavailable', pres => {
        const bare = JID.toBare(pres.from);
        if (presences.has(bare)) {
            presences.get(bare).delete(pres.from);
        }
        emit('presence', { from: pres.from, type: 'unavailable' });
    });

    client.on('auth:failed', () => fail('authentication failed'));
    client.on('stream:error', err => emit('error', { message: `stream error: ${JSON.stringify(err)}` }));
    client.on('disconnected', () => {
        if (!st.finished) {
            fail('disconnected from the server');
        }
    });

    client.on('session:started', async () => {
        try {
            await client.getRoster();
        } catch (e) {
            emit('error', { message: `roster: ${JSON.stringify(e)}` });
        }
        // Caps (XEP-0115), as real clients send them: peers learn our features.
        client.updateCaps();
        client.sendPresence({ legacyCapabilities: client.disco.getCaps() });
        emit('connected', { jid: client.jid, mode: o.mode });
        if (peerBare) {
            client.subscribe(peerBare);
            subscribedBack.add(peerBare);
            emit('subscription', { action: 'requested', jid: peerBare });
        }
        if (o.mode === 'call') {
            if (!o.peer) {
                fail('--mode call needs --peer');
                return;
            }
            if (peerIsFull) {
                callFull(o.peer).catch(e => fail(`call failed: ${e}`));
            } else if (o.jmi) {
                callBareViaJmi(peerBare);
            } else {
                callBareViaPresence(peerBare);
            }
        } else {
            emit('waiting', { for: 'incoming call' });
        }
    });

    client.connect();
    return done;
}

window.runPeer = runPeer;
