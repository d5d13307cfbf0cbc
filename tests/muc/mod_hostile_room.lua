-- A hostile group chat service: whoever joins a room whose name starts with
-- "hostile" then gets, from the room, 10 000 occupant presences, presences whose
-- muc#user data is nonsense, an occupant whose nick holds control characters, a
-- subject of 1 MiB, 10 000 messages, one backdated by its sender, and at last a
-- plain message "still here". Loaded on the MUC
-- component by muc_e2e's bad-input test.

local st = require "util.stanza";

local NS_USER = "http://jabber.org/protocol/muc#user";

module:hook("muc-occupant-joined", function(event)
	local room = event.room;
	if not room.jid:match("^hostile") then
		return;
	end
	local to = event.stanza.attr.from;
	for i = 1, 10000 do
		module:send(st.presence({ from = room.jid .. "/flood" .. i, to = to })
			:tag("x", { xmlns = NS_USER })
			:tag("item", { affiliation = "none", role = "participant" }));
	end
	module:send(st.presence({ from = room.jid .. "/bad", to = to })
		:tag("x", { xmlns = NS_USER })
		:tag("item", { affiliation = "bogus", role = "nonsense", jid = "not a jid@@" }):up()
		:tag("status", { code = "99999999999999999999" }):up()
		:tag("status", { code = "-1" }));
	module:send(st.presence({ from = room.jid .. "/tab\there", to = to })
		:tag("x", { xmlns = NS_USER })
		:tag("item", { affiliation = "none", role = "participant" }));
	module:send(st.presence({ from = room.jid .. "/nox", to = to, type = "bogus-type" }));
	module:send(st.message({ from = room.jid .. "/evil", to = to, type = "groupchat" })
		:tag("subject"):text(("x"):rep(1024 * 1024)));
	for i = 1, 10000 do
		module:send(st.message({ from = room.jid .. "/talker" .. (i % 50), to = to, type = "groupchat", id = "m" .. i })
			:tag("body"):text("flood message " .. i));
	end
	-- Backdated to 2001 by its sender (a stamp not from the room): not believed.
	module:send(st.message({ from = room.jid .. "/forger", to = to, type = "groupchat", id = "forged" })
		:tag("body"):text("forged"):up()
		:tag("delay", { xmlns = "urn:xmpp:delay", from = "someone@else", stamp = "2001-01-01T00:00:00Z" }));
	module:send(st.message({ from = room.jid .. "/evil", to = to, type = "groupchat", id = "last" })
		:tag("body"):text("still here"));
	module:log("info", "%s flooded %s", room.jid, to);
end, -100);
