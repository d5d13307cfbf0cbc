#!/usr/bin/env python3
"""Wide-band PESQ (ITU-T P.862.2, PyPI `pesq`) of a recording of looped speech.

usage: pesq_score.py REFERENCE.wav RECORDING.wav

The recording holds the reference played over and over (a WAV source loops). Both go
to 16 kHz; the first full occurrence is found by cross-correlation, then every whole
occurrence after it is scored on its own. Prints JSON: median, worst, count.
"""
import json
import sys
import wave

import numpy as np
from pesq import pesq
from scipy.signal import correlate, resample_poly


def read(path):
    with wave.open(path) as w:
        rate, ch, n = w.getframerate(), w.getnchannels(), w.getnframes()
        x = np.frombuffer(w.readframes(n), dtype=np.int16).astype(np.float64)
    if ch > 1:
        x = x.reshape(-1, ch).mean(axis=1)
    g = np.gcd(rate, 16000)
    return resample_poly(x, 16000 // g, rate // g) / 32768.0


def main():
    ref, rec = read(sys.argv[1]), read(sys.argv[2])
    n = len(ref)
    if len(rec) < 2 * n:
        print(json.dumps({"error": "recording shorter than two occurrences"}))
        sys.exit(1)
    # Where the reference starts in the recording (modulo its length).
    head = rec[: 2 * n]
    c = correlate(head, ref, mode="valid", method="fft")
    start = int(np.argmax(c))
    scores = []
    at = start + n  # the first occurrence may have begun before the call connected
    while at + n <= len(rec):
        seg = rec[at : at + n]
        try:
            scores.append(pesq(16000, ref, seg, "wb"))
        except Exception as e:  # a silent segment, for instance
            scores.append(1.0)
        at += n
    print(json.dumps({
        "wb_pesq_median": float(np.median(scores)),
        "wb_pesq_worst": float(np.min(scores)),
        "occurrences": len(scores),
        "offset_ms": start / 16.0,
    }))


if __name__ == "__main__":
    main()
