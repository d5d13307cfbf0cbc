// Sending a sine tone (WebAudio, no getUserMedia) and measuring what arrives.

let ctx;

export async function audioContext() {
    if (!ctx) {
        ctx = new AudioContext({ latencyHint: 'interactive' });
    }
    if (ctx.state !== 'running') {
        await ctx.resume();
    }
    return ctx;
}

// A MediaStream carrying a continuous sine at `hz`.
export async function toneStream(hz, gainValue = 0.4) {
    const c = await audioContext();
    const osc = c.createOscillator();
    osc.type = 'sine';
    osc.frequency.value = hz;
    const gain = c.createGain();
    gain.gain.value = gainValue;
    const dest = c.createMediaStreamDestination();
    osc.connect(gain).connect(dest);
    osc.start();
    return dest.stream;
}

// Attaches an analyser to a remote stream. Chrome only feeds WebAudio from a remote
// WebRTC stream while the stream also plays in a media element, so it is attached
// to a muted <audio> element too.
export async function remoteAnalyser(stream) {
    const c = await audioContext();
    const el = document.createElement('audio');
    el.muted = true;
    el.autoplay = true;
    el.srcObject = stream;
    document.body.appendChild(el);
    try {
        await el.play();
    } catch (_) {
        // autoplay is allowed by the command line flag; ignore if it still complains
    }
    const src = c.createMediaStreamSource(stream);
    const analyser = c.createAnalyser();
    analyser.fftSize = 8192;
    analyser.smoothingTimeConstant = 0;
    const sink = c.createGain();
    sink.gain.value = 0; // keeps the graph pulled without making sound
    src.connect(analyser);
    analyser.connect(sink).connect(c.destination);
    const freq = new Float32Array(analyser.frequencyBinCount);
    const time = new Float32Array(analyser.fftSize);
    return {
        // { dominant_hz, peak_db, prominence_db, level (RMS 0..1) }
        measure() {
            analyser.getFloatFrequencyData(freq);
            analyser.getFloatTimeDomainData(time);
            let sum = 0;
            for (const v of time) {
                sum += v * v;
            }
            const rms = Math.sqrt(sum / time.length);
            const binHz = c.sampleRate / analyser.fftSize;
            const minBin = Math.ceil(50 / binHz);
            let best = -1;
            for (let i = minBin; i < freq.length - 1; i++) {
                if (best < 0 || freq[i] > freq[best]) {
                    best = i;
                }
            }
            const finite = Array.from(freq.slice(minBin)).filter(Number.isFinite).sort((a, b) => a - b);
            const median = finite.length ? finite[Math.floor(finite.length / 2)] : -Infinity;
            let offset = 0;
            const a = freq[best - 1], b = freq[best], g = freq[best + 1];
            if ([a, b, g].every(Number.isFinite)) {
                const den = a - 2 * b + g;
                if (den !== 0) {
                    offset = 0.5 * (a - g) / den;
                }
            }
            const peak = freq[best];
            return {
                dominant_hz: Number.isFinite(peak) ? Math.round((best + offset) * binHz * 10) / 10 : null,
                peak_db: Number.isFinite(peak) ? Math.round(peak * 10) / 10 : null,
                prominence_db: Number.isFinite(peak) && Number.isFinite(median) ? Math.round((peak - median) * 10) / 10 : null,
                level: Math.round(rms * 10000) / 10000,
                sample_rate: c.sampleRate,
                context_time: Math.round(c.currentTime * 1000) / 1000
            };
        },
        close() {
            try {
                src.disconnect();
                analyser.disconnect();
                el.srcObject = null;
                el.remove();
            } catch (_) {
                // already gone
            }
        }
    };
}

// Secondary proof from WebRTC statistics: inbound audio RTP counters and energy.
export async function inboundAudioStats(pc) {
    const stats = await pc.getStats();
    let inbound, outbound, codec, pair;
    stats.forEach(r => {
        if (r.type === 'inbound-rtp' && r.kind === 'audio') {
            inbound = r;
        }
        if (r.type === 'outbound-rtp' && r.kind === 'audio') {
            outbound = r;
        }
        if (r.type === 'transport' && r.selectedCandidatePairId) {
            pair = stats.get(r.selectedCandidatePairId);
        }
    });
    if (inbound && inbound.codecId) {
        codec = stats.get(inbound.codecId);
    }
    const out = {};
    if (inbound) {
        out.packets_received = inbound.packetsReceived;
        out.packets_lost = inbound.packetsLost;
        out.bytes_received = inbound.bytesReceived;
        out.total_audio_energy = inbound.totalAudioEnergy;
        out.rtp_audio_level = inbound.audioLevel;
        out.jitter = inbound.jitter;
    }
    if (outbound) {
        out.packets_sent = outbound.packetsSent;
    }
    if (codec) {
        out.codec = `${codec.mimeType}/${codec.clockRate}${codec.channels ? '/' + codec.channels : ''} pt=${codec.payloadType}`;
    }
    if (pair) {
        const local = stats.get(pair.localCandidateId);
        const remote = stats.get(pair.remoteCandidateId);
        out.selected_local = local ? local.address : undefined;
        out.selected_remote = remote ? remote.address : undefined;
        out.selected_pair = `${local ? local.address + ':' + local.port + '/' + local.protocol : '?'} -> ${remote ? remote.address + ':' + remote.port + '/' + remote.protocol : '?'}`;
    }
    return out;
}
