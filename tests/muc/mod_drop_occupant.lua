-- A group chat service that forgets an occupant without telling anyone, as a
-- service restart or a lost session can: a groupchat message "drop me silently"
-- removes its sender from the room (no presence goes out) and goes no further. And
-- a join of a room whose name starts with "void" is never answered at all.
-- Loaded on the MUC component by muc_e2e's self-ping test.

module:hook("muc-occupant-pre-join", function(event)
	if event.room.jid:match("^void") then
		module:log("info", "not answering a join of %s", event.room.jid);
		return true;
	end
end, 100);

module:hook("muc-occupant-groupchat", function(event)
	if event.stanza:get_child_text("body") ~= "drop me silently" then
		return;
	end
	local occupant = event.occupant;
	occupant.role = nil;
	event.room:save_occupant(occupant);
	module:log("info", "dropped %s from %s without a word", occupant.nick, event.room.jid);
	return true;
end, 100);
