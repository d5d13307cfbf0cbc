//! Descriptions written as SDP for webrtc-rs and read back from it.

use super::*;

impl SessionDescription {
    /// SDP for webrtc-rs. Without a BUNDLE group, all contents are put in one (the
    /// WebRTC core rejects m= sections outside a group with port 0).
    pub fn to_sdp(&self) -> String {
        let mut s = String::new();
        s.push_str("v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n");
        let names: Vec<&str> = if self.bundle.is_empty() {
            self.contents.iter().map(|c| c.name.as_str()).collect()
        } else {
            self.bundle.iter().map(String::as_str).collect()
        };
        let _ = write!(s, "a=group:BUNDLE {}\r\n", names.join(" "));
        s.push_str("a=msid-semantic: WMS *\r\n");
        for c in &self.contents {
            let pts: Vec<String> = c
                .codecs
                .iter()
                .map(|k| k.payload_type.to_string())
                .collect();
            let _ = write!(
                s,
                "m={} 9 UDP/TLS/RTP/SAVPF {}\r\nc=IN IP4 0.0.0.0\r\n",
                c.kind.as_str(),
                pts.join(" ")
            );
            let _ = write!(
                s,
                "a=ice-ufrag:{}\r\na=ice-pwd:{}\r\n",
                self.ice_ufrag, self.ice_pwd
            );
            let _ = write!(
                s,
                "a=fingerprint:{} {}\r\na=setup:{}\r\na=mid:{}\r\n",
                self.fingerprint.hash,
                self.fingerprint.value,
                self.setup.as_str(),
                c.name
            );
            for h in &c.header_extensions {
                let _ = write!(s, "a=extmap:{} {}\r\n", h.id, h.uri);
            }
            let _ = write!(s, "a={}\r\n", c.direction.as_str());
            // rtcp-mux is required by the WebRTC core; peers without it are rare.
            s.push_str("a=rtcp-mux\r\n");
            for k in &c.codecs {
                if k.channels > 1 {
                    let _ = write!(
                        s,
                        "a=rtpmap:{} {}/{}/{}\r\n",
                        k.payload_type, k.name, k.clock_rate, k.channels
                    );
                } else {
                    let _ = write!(
                        s,
                        "a=rtpmap:{} {}/{}\r\n",
                        k.payload_type, k.name, k.clock_rate
                    );
                }
                if !k.fmtp.is_empty() {
                    let params: Vec<String> = k
                        .fmtp
                        .iter()
                        .map(|(a, b)| match b.is_empty() {
                            true => a.clone(),
                            false => format!("{a}={b}"),
                        })
                        .collect();
                    let _ = write!(s, "a=fmtp:{} {}\r\n", k.payload_type, params.join(";"));
                }
                for fb in &k.rtcp_fb {
                    match &fb.subtype {
                        Some(st) => {
                            let _ =
                                write!(s, "a=rtcp-fb:{} {} {}\r\n", k.payload_type, fb.kind, st);
                        }
                        None => {
                            let _ = write!(s, "a=rtcp-fb:{} {}\r\n", k.payload_type, fb.kind);
                        }
                    }
                }
            }
            for g in &c.ssrc_groups {
                let ids: Vec<String> = g.ssrcs.iter().map(u32::to_string).collect();
                let _ = write!(s, "a=ssrc-group:{} {}\r\n", g.semantics, ids.join(" "));
            }
            for ssrc in &c.ssrcs {
                if ssrc.params.is_empty() {
                    let _ = write!(s, "a=ssrc:{} cname:banter\r\n", ssrc.id);
                }
                for (k, v) in &ssrc.params {
                    let _ = write!(s, "a=ssrc:{} {}:{}\r\n", ssrc.id, k, v);
                }
            }
            for cand in &self.candidates {
                let _ = write!(s, "a={}\r\n", cand.to_sdp());
            }
        }
        s
    }

    /// Reads the SDP webrtc-rs produced.
    pub fn from_sdp(sdp: &str) -> Result<SessionDescription, MediaError> {
        let bad = |why: &str| MediaError::Description(why.to_string());
        let mut d = SessionDescription {
            ice_ufrag: String::new(),
            ice_pwd: String::new(),
            fingerprint: Fingerprint {
                hash: String::new(),
                value: String::new(),
            },
            setup: Setup::ActPass,
            bundle: Vec::new(),
            contents: Vec::new(),
            candidates: Vec::new(),
        };
        for line in sdp.lines().map(str::trim) {
            if let Some(m) = line.strip_prefix("m=") {
                let mut f = m.split_whitespace();
                let kind = match f.next() {
                    Some("audio") => MediaKind::Audio,
                    Some("video") => MediaKind::Video,
                    _ => return Err(bad("unsupported media section")),
                };
                let codecs = f
                    .skip(2)
                    .filter_map(|pt| pt.parse().ok())
                    .map(|pt| Codec {
                        payload_type: pt,
                        name: String::new(),
                        clock_rate: 0,
                        channels: 1,
                        fmtp: Vec::new(),
                        rtcp_fb: Vec::new(),
                    })
                    .collect();
                d.contents.push(Content {
                    name: String::new(),
                    kind,
                    codecs,
                    header_extensions: Vec::new(),
                    ssrcs: Vec::new(),
                    ssrc_groups: Vec::new(),
                    rtcp_mux: false,
                    direction: Direction::SendRecv,
                    transport: None,
                });
                continue;
            }
            let Some(attr) = line.strip_prefix("a=") else {
                continue;
            };
            let (key, value) = attr.split_once(':').unwrap_or((attr, ""));
            if key == "group" {
                if let Some(mids) = value.strip_prefix("BUNDLE") {
                    d.bundle = mids.split_whitespace().map(str::to_string).collect();
                }
                continue;
            }
            match key {
                "ice-ufrag" => d.ice_ufrag = value.to_string(),
                "ice-pwd" => d.ice_pwd = value.to_string(),
                "fingerprint" => {
                    let (h, v) = value
                        .split_once(' ')
                        .ok_or_else(|| bad("bad fingerprint"))?;
                    d.fingerprint = Fingerprint {
                        hash: h.to_ascii_lowercase(),
                        value: v.to_ascii_uppercase(),
                    };
                }
                "setup" => d.setup = Setup::parse(value).unwrap_or(Setup::ActPass),
                "candidate" => {
                    if let Ok(c) = Candidate::from_sdp(value) {
                        d.candidates.push(c);
                    }
                }
                _ => {}
            }
            let Some(c) = d.contents.last_mut() else {
                continue;
            };
            match key {
                "mid" => c.name = value.to_string(),
                "rtcp-mux" => c.rtcp_mux = true,
                "sendrecv" => c.direction = Direction::SendRecv,
                "sendonly" => c.direction = Direction::SendOnly,
                "recvonly" => c.direction = Direction::RecvOnly,
                "inactive" => c.direction = Direction::Inactive,
                "extmap" => {
                    let mut f = value.split_whitespace();
                    let id = f
                        .next()
                        .and_then(|i| i.split('/').next())
                        .and_then(|i| i.parse().ok());
                    if let (Some(id), Some(uri)) = (id, f.next()) {
                        c.header_extensions.push(HeaderExtension {
                            id,
                            uri: uri.to_string(),
                        });
                    }
                }
                "rtpmap" | "fmtp" | "rtcp-fb" => {
                    let (pt, rest) = value.split_once(' ').unwrap_or((value, ""));
                    let Ok(pt) = pt.parse::<u8>() else { continue };
                    let Some(codec) = c.codecs.iter_mut().find(|k| k.payload_type == pt) else {
                        continue;
                    };
                    match key {
                        "rtpmap" => {
                            let mut p = rest.split('/');
                            codec.name = p.next().unwrap_or("").to_string();
                            codec.clock_rate = p.next().and_then(|r| r.parse().ok()).unwrap_or(0);
                            codec.channels = p.next().and_then(|r| r.parse().ok()).unwrap_or(1);
                        }
                        "fmtp" => {
                            codec.fmtp = rest
                                .split(';')
                                .map(str::trim)
                                .filter(|kv| !kv.is_empty())
                                .map(|kv| match kv.split_once('=') {
                                    Some((k, v)) => (k.to_string(), v.to_string()),
                                    None => (kv.to_string(), String::new()),
                                })
                                .collect();
                        }
                        _ => {
                            let mut p = rest.split_whitespace();
                            if let Some(kind) = p.next() {
                                codec.rtcp_fb.push(RtcpFb {
                                    kind: kind.to_string(),
                                    subtype: p.next().map(str::to_string),
                                });
                            }
                        }
                    }
                }
                "ssrc-group" => {
                    let mut f = value.split_whitespace();
                    if let Some(semantics) = f.next() {
                        c.ssrc_groups.push(SsrcGroup {
                            semantics: semantics.to_string(),
                            ssrcs: f.filter_map(|x| x.parse().ok()).collect(),
                        });
                    }
                }
                "ssrc" => {
                    let (id, rest) = value.split_once(' ').unwrap_or((value, ""));
                    let Ok(id) = id.parse::<u32>() else { continue };
                    let (k, v) = rest.split_once(':').unwrap_or((rest, ""));
                    match c.ssrcs.iter_mut().find(|s| s.id == id) {
                        Some(s) => s.params.push((k.to_string(), v.to_string())),
                        None => c.ssrcs.push(Ssrc {
                            id,
                            params: vec![(k.to_string(), v.to_string())],
                        }),
                    }
                }
                _ => {}
            }
        }
        if d.ice_ufrag.is_empty() || d.fingerprint.value.is_empty() {
            return Err(bad("missing ICE credentials or DTLS fingerprint"));
        }
        Ok(d)
    }
}
