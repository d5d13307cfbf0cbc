// XEP-0353 Jingle Message Initiation, which StanzaJS does not implement (it only
// declares an old namespace constant, 'urn:xmpp:jingle:jingle-message:0', and never
// uses it). These JXT definitions are written for this harness so that a StanzaJS peer
// can answer (and place) JMI calls the way Conversations / Dino / Banter do.
//
// JSON shape on a message: msg.jmi = { type: 'propose'|'ringing'|'proceed'|'accept'|
//   'reject'|'retract'|'finish', id, media?: ['audio'], reason?: { condition, text } }

import { JXT } from 'stanza';

export const NS_JMI = 'urn:xmpp:jingle-message:0';
const NS_JINGLE = 'urn:xmpp:jingle:1';
const NS_RTP = 'urn:xmpp:jingle:apps:rtp:1';

export const JMI_TYPES = ['propose', 'ringing', 'proceed', 'accept', 'reject', 'retract', 'finish'];

const REASONS = [
    'alternative-session', 'busy', 'cancel', 'connectivity-error', 'decline', 'expired',
    'failed-application', 'failed-transport', 'general-error', 'gone', 'incompatible-parameters',
    'media-error', 'security-error', 'success', 'timeout', 'unsupported-applications',
    'unsupported-transports'
];

export function defineJmi(client) {
    const { attribute, multipleChildAttribute, childEnum, childText } = JXT;
    const defs = JMI_TYPES.map(type => ({
        element: type,
        namespace: NS_JMI,
        path: 'message.jmi',
        type,
        typeField: 'type',
        fields: {
            id: attribute('id'),
            ...(type === 'propose' ? { media: multipleChildAttribute(NS_RTP, 'description', 'media') } : {})
        }
    }));
    // <reason xmlns='urn:xmpp:jingle:1'> inside reject / retract / finish.
    defs.push({
        element: 'reason',
        namespace: NS_JINGLE,
        path: 'message.jmi.reason',
        fields: {
            condition: childEnum(null, REASONS),
            text: childText(null, 'text')
        }
    });
    client.stanzas.define(defs);
    client.disco.addFeature(NS_JMI);
}
