-- A slow server for the tests (omemo_e2e.rs): every fetch of an OMEMO 0.3 bundle
-- (node eu.siacs.conversations.axolotl.bundles:ID) is answered 1.5 s late, so that
-- a callee's "proceed" reaches the caller before the bundle of the device that
-- answered. The caller must wait for it to seal its fingerprints.
local NS_PUBSUB = "http://jabber.org/protocol/pubsub";
local delayed = {};

module:hook("iq/bare/" .. NS_PUBSUB .. ":pubsub", function(event)
	local stanza = event.stanza;
	if stanza.attr.type ~= "get" then
		return;
	end
	local items = stanza.tags[1] and stanza.tags[1]:get_child("items");
	local node = items and items.attr.node or "";
	if not node:match("^eu%.siacs%.conversations%.axolotl%.bundles:") then
		return;
	end
	local key = tostring(stanza.attr.from) .. "/" .. tostring(stanza.attr.id);
	if delayed[key] then
		delayed[key] = nil;
		return;
	end
	delayed[key] = true;
	module:log("info", "delaying %s's fetch of %s", stanza.attr.from, node);
	module:add_timer(1.5, function()
		module:fire_event("iq/bare/" .. NS_PUBSUB .. ":pubsub", event);
	end);
	return true;
end, 100);
