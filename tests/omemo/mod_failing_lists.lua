-- A server that cannot give out OMEMO device lists to one resource, for the tests
-- (omemo_e2e.rs): every fetch of a device list (0.3's and OMEMO 2's node) by a
-- resource named "broken" is answered with internal-server-error. Such an answer
-- is not "there is none" (item-not-found): Banter must neither take it for an empty
-- list nor republish its own list without its other devices.
local st = require "util.stanza";
local NS_PUBSUB = "http://jabber.org/protocol/pubsub";
local LISTS = {
	["eu.siacs.conversations.axolotl.devicelist"] = true,
	["urn:xmpp:omemo:2:devices"] = true,
};

local function refuse(event)
	local stanza = event.stanza;
	if stanza.attr.type ~= "get" then
		return;
	end
	local items = stanza.tags[1] and stanza.tags[1]:get_child("items");
	local node = items and items.attr.node;
	if not (node and LISTS[node]) then
		return;
	end
	local from = tostring(stanza.attr.from or "");
	if not from:match("/broken$") then
		return;
	end
	module:log("info", "refusing %s's fetch of %s", from, node);
	event.origin.send(st.error_reply(stanza, "wait", "internal-server-error"));
	return true;
end

module:hook("iq/bare/" .. NS_PUBSUB .. ":pubsub", refuse, 100);
module:hook("iq/self/" .. NS_PUBSUB .. ":pubsub", refuse, 100);
