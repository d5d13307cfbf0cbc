-- A crowded room for the room-join benchmark (benches/room_join.rs): every room
-- whose name starts with "crowd" is, by its first join, holding `crowd_size` occupants
-- (default 2 000; fake sessions of local users who are not online, so what the room
-- sends them goes nowhere). Whoever joins gets the whole occupant list.

local occupant_lib = module:require "muc/occupant";
local st = require "util.stanza";

local size = module:get_option_number("crowd_size", 2000);

-- Before the first join is answered (the room is new then), so that the joiner's
-- occupant list has the crowd.
module:hook("muc-occupant-pre-join", function(event)
	local room = event.room;
	if not room.jid:match("^crowd") or room._crowded then
		return;
	end
	room._crowded = true;
	local host = module:get_host():gsub("^[^.]+%.", "");
	for i = 1, size do
		local bare = ("guest%d@%s"):format(i, host);
		local occupant = occupant_lib.new(bare, ("%s/guest%d"):format(room.jid, i));
		occupant.role = "participant";
		occupant:set_session(bare .. "/x", st.presence({ from = bare .. "/x" }));
		room:save_occupant(occupant);
	end
	module:log("info", "%s holds a crowd of %d", room.jid, size);
end);
