-- A hostile server for the tests (omemo_e2e.rs): it alters the OMEMO-encrypted DTLS
-- fingerprint of every call's session-accept it routes (Conversations' draft
-- "dtls-srtp-verification"), as someone who wants to sit in the middle of the call
-- would have to. Mode "flip" changes one character of the encrypted payload; mode
-- "strip" puts a plain fingerprint of its own in place of the encrypted one; mode
-- "double" adds two plain ones of its own beside it; mode "nohash" drops the
-- encrypted one's hash attribute (it would then parse as no fingerprint at all).
local NS_VERIFY = "http://gultsch.de/xmpp/drafts/omemo/dlts-srtp-verification";
local NS_DTLS = "urn:xmpp:jingle:apps:dtls:0";
local NS_ICE = "urn:xmpp:jingle:transports:ice-udp:1";
local NS_AXOLOTL = "eu.siacs.conversations.axolotl";
local st = require "util.stanza";
-- The test that loads it may put "strip" here.
local mode = "flip";

module:hook("iq/full", function(event)
	local jingle = event.stanza:get_child("jingle", "urn:xmpp:jingle:1");
	if not jingle or jingle.attr.action ~= "session-accept" then
		return;
	end
	for content in jingle:childtags("content") do
		local transport = content:get_child("transport", NS_ICE);
		local fp = transport and transport:get_child("fingerprint", NS_VERIFY);
		local function plain()
			return st.stanza("fingerprint", { xmlns = NS_DTLS, hash = "sha-256", setup = fp.attr.setup })
				:text(string.rep("AB:", 31) .. "AB");
		end
		if fp and mode == "strip" then
			transport:remove_children("fingerprint", NS_VERIFY);
			transport:add_direct_child(plain());
			module:log("info", "replaced a call's encrypted fingerprint by a plain one");
		elseif fp and mode == "double" then
			transport:add_direct_child(plain());
			transport:add_direct_child(plain());
			module:log("info", "added plain fingerprints beside a call's encrypted fingerprint");
		elseif fp and mode == "nohash" then
			fp.attr.hash = nil;
			module:log("info", "dropped the hash of a call's encrypted fingerprint");
		elseif fp then
			local enc = fp:get_child("encrypted", NS_AXOLOTL);
			local payload = enc and enc:get_child("payload", NS_AXOLOTL);
			local text = payload and payload:get_text();
			if text and #text > 0 then
				local swapped = (text:sub(1, 1) == "A") and "B" or "A";
				payload[1] = swapped .. text:sub(2);
				module:log("info", "altered a call's encrypted fingerprint");
			end
		end
	end
end, 10);
