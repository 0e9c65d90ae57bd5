/*
 * Chat widget of the "Seconde chance" assistant, embeddable in any page:
 *
 *   <link rel="stylesheet" href=".../static/widget.css">
 *   <script src=".../static/widget.js" data-server-url="http://127.0.0.1:5005"></script>
 *
 * Optional attributes of the script element:
 *   data-open="true"        opens the panel when the page loads;
 *   data-socketio-src="…"   URL of socket.io.min.js (default: the folder of widget.js).
 *
 * The widget talks to the Rasa server with the events of Rasa's socket.io
 * channel (session_request, session_confirm, user_uttered, bot_uttered) and
 * reads the helplines from GET <server>/webhooks/widget/helplines. For the
 * human handoff it also receives counsellor_typing and handoff_status, and
 * sends message_ack (for every message that carries a message_id) and
 * user_typing.
 *
 * Text from the server or the user is only ever inserted with textContent
 * and createElement, so markup inside a message is shown as typed.
 * Plain ES2019, no build step.
 */
(function () {
  "use strict";

  if (window.SecondeChanceWidget) {
    return;
  }

  const LOG_PREFIX = "[SecondeChanceWidget]";
  const SESSION_KEY = "secondeChance.sessionId";
  const TRANSCRIPT_KEY = "secondeChance.transcript";
  const TRANSCRIPT_VERSION = 1;
  const MAX_STORED_ITEMS = 200;
  const TRANSCRIPT_EXPIRY_MS = 24 * 60 * 60 * 1000;
  const MAX_MESSAGE_LENGTH = 2000;
  // The character counter appears from this length on, so it stays out of the way.
  const COUNTER_THRESHOLD = 1800;
  const TYPING_TIMEOUT_MS = 15000;
  // A counsellor's typing indicator disappears after this long without news,
  // in case the "stopped typing" event was lost.
  const COUNSELLOR_TYPING_TIMEOUT_MS = 10000;
  // The widget sends user_typing at most this often.
  const USER_TYPING_INTERVAL_MS = 2000;
  // Message ids remembered to drop a message delivered twice, beyond those of
  // the stored transcript.
  const MAX_SEEN_MESSAGE_IDS = 500;
  const ASK_COUNSELLOR_PAYLOAD = "/ask_counsellor";
  const GEOLOCATION_TIMEOUT_MS = 15000;
  const GEOLOCATION_MAX_AGE_MS = 60000;
  const HELPLINES_TIMEOUT_MS = 10000;
  const HELPLINES_PATH = "/webhooks/widget/helplines";
  const LOCATION_MESSAGE = "Ma position";
  const KNOWN_CUSTOM_TYPES = ["place_cards", "training_cards", "notice"];
  // Same breakpoint as widget.css: below it the panel covers the whole screen.
  const FULL_SCREEN_QUERY = "(max-width: 480px)";
  const FOCUSABLE_SELECTOR = "a[href], button:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";

  const TEXT = {
    launcher: "Seconde chance",
    launcherLabel: "Ouvrir la discussion avec Seconde chance",
    launcherCloseLabel: "Fermer la discussion avec Seconde chance",
    title: "Seconde chance",
    subtitle: "Assistant automatique : ce n'est pas une personne qui te répond.",
    subtitleCounsellor: "Ta conversation est transmise à un conseiller : une personne te répond.",
    newConversation: "Nouvelle conversation",
    close: "Fermer la discussion",
    confirmQuestion: "Effacer cette conversation et en commencer une nouvelle ?",
    confirmYes: "Oui, recommencer",
    confirmNo: "Annuler",
    helpButton: "Besoin d'aide tout de suite ?",
    helpTitle: "Numéros d'aide",
    helpIntro: "Si tu vas mal ou si tu es en danger, tu peux parler à quelqu'un dès maintenant :",
    helpLoading: "Chargement des numéros…",
    helpUnavailable: "Les numéros d'aide ne sont pas disponibles pour le moment.",
    helpEmergency: "En cas de danger immédiat, appelle le ",
    helpEmergencyNumber: "112",
    helpEmergencyEnd: " (numéro d'urgence gratuit, partout en Europe).",
    helpClose: "Fermer",
    helpVerified: "Liste mise à jour le ",
    helpCall: "Appeler le ",
    helpSms: "Envoyer un SMS au ",
    helpHours: "Horaires : ",
    website: "Site internet",
    newTab: " (nouvel onglet)",
    messagesLabel: "Messages de la conversation",
    botPrefix: "L'assistant : ",
    userPrefix: "Toi : ",
    welcome:
      "Bonjour ! Je peux te dire qui peut t'aider près de chez toi (Mission locale, CIO…) " +
      "et te proposer des formations.\nÉcris ta question, ta ville, ou appuie sur « Me localiser ».",
    privacy: "Pas besoin de donner ton nom, ton adresse ou ton numéro de téléphone.",
    inputLabel: "Ton message",
    inputPlaceholder: "Écris ton message…",
    send: "Envoyer",
    locate: "Me localiser",
    locating: "Localisation…",
    locationShown: "📍 Ma position",
    counterSuffix: " caractères",
    counterLimit: " : limite atteinte",
    quickRepliesLabel: "Réponses proposées",
    typing: "L'assistant écrit…",
    counsellorTyping: "Le conseiller écrit…",
    counsellorName: "Conseiller",
    askCounsellor: "Parler à un conseiller",
    pending: "en attente",
    failedLocation: "Non envoyé : appuie de nouveau sur « Me localiser ».",
    disconnected: "Connexion perdue, nouvelle tentative…",
    loadFailed: "La discussion ne peut pas se charger. Réessaie plus tard.",
    geoPermissionDenied:
      "Tu n'as pas autorisé la localisation. Pas de souci : tu peux écrire ta ville ou ton code postal.",
    geoUnavailable:
      "Ta position n'est pas disponible pour le moment. Tu peux écrire ta ville ou ton code postal.",
    geoTimeout:
      "La localisation a pris trop de temps. Réessaie, ou écris ta ville ou ton code postal.",
    geoUnsupported:
      "Ton navigateur ne permet pas la localisation. Tu peux écrire ta ville ou ton code postal.",
    geoInsecure:
      "La localisation ne marche que sur une page sécurisée (https). Tu peux écrire ta ville ou ton code postal.",
    distancePrefix: "à ",
    distanceSuffix: " km",
    approximate: "Position approximative (centre de la commune)",
    addressUnchecked: "Adresse à vérifier : le code postal ne correspond pas à la commune.",
    phoneLabel: "Téléphone : ",
    emailLabel: "E-mail : ",
    map: "Voir sur la carte",
    sourceDay: "Informations du ",
    sourceMonth: "Informations de ",
    sourceMonthElided: "Informations d'",
    sourceOther: "Date des informations : ",
    months: ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
      "septembre", "octobre", "novembre", "décembre"],
    duration: "Durée : ",
    level: "Niveau : ",
    onisep: "Fiche Onisep",
  };

  const ICONS = {
    chat: ["M4 5h16v11H9l-5 4z"],
    close: ["M6 6l12 12", "M18 6L6 18"],
    restart: ["M20 12a8 8 0 1 1-2.34-5.66", "M20 4v5h-5"],
    send: ["M4 12l16-8-6 16-2.5-6.5z"],
    pin: ["M12 21s-7-6-7-11.5a7 7 0 0 1 14 0C19 15 12 21 12 21z", "M12 12a2.5 2.5 0 1 0 0-5 2.5 2.5 0 0 0 0 5z"],
    phone: ["M6 3h3l2 5-2.5 1.5a11 11 0 0 0 6 6L16 13l5 2v3a2 2 0 0 1-2 2A17 17 0 0 1 4 5a2 2 0 0 1 2-2z"],
    person: ["M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8z", "M4 21a8 8 0 0 1 16 0"],
  };

  const script = document.currentScript;
  const config = readConfig(script);

  // Mutable state of the single widget instance.
  const state = {
    items: [],
    lastActivity: 0,
    sessionId: null,
    sessionConfirmed: false,
    connection: "connecting",
    isOpen: false,
    locating: false,
    nextId: 0,
    // True once a message went to the counsellors, until the assistant replies
    // again. The assistant's typing dots are not shown meanwhile.
    withCounsellor: false,
  };
  // Coordinates of location messages not sent yet. They stay in memory only,
  // so a position is never written to the device's storage.
  const pendingLocations = new Map();
  const itemNodes = new Map();
  const helplines = { status: "idle", data: null };
  const ui = {};
  let socket = null;
  let typingTimer = null;
  let counsellorTypingTimer = null;
  let lastUserTypingSent = 0;
  // Ids of the counsellor and system messages already shown, to drop a
  // message that the server delivers again.
  const seenMessageIds = new Set();
  // Ids shown but not acknowledged yet, sent with the next message_ack.
  let pendingAcks = [];
  let ackTimer = null;
  // First message shown since the user's last message, kept in view by scrollToNode.
  let replyStart = null;

  /* ---------- Configuration and storage ---------- */

  function readConfig(scriptElement) {
    const dataset = scriptElement ? scriptElement.dataset : {};
    const rawUrl = (dataset.serverUrl || "").trim() || window.location.origin;
    let url = null;
    try {
      url = new URL(rawUrl, window.location.href);
    } catch (error) {
      url = null;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
      console.error(LOG_PREFIX, "Invalid data-server-url, expected an http(s) URL:", rawUrl);
      return null;
    }
    // A server behind a reverse proxy under a path prefix serves socket.io
    // and the helplines under the same prefix.
    const basePath = url.pathname.replace(/\/+$/, "");
    let socketIoSrc = dataset.socketioSrc || "";
    if (!socketIoSrc && scriptElement && scriptElement.src) {
      socketIoSrc = new URL("socket.io.min.js", scriptElement.src).href;
    }
    return {
      origin: url.origin,
      baseUrl: url.origin + basePath,
      socketPath: basePath + "/socket.io",
      socketIoSrc: socketIoSrc,
      openOnLoad: dataset.open !== undefined && ["", "1", "true", "open"].indexOf(dataset.open) !== -1,
    };
  }

  // localStorage throws when it is disabled or full: the widget then keeps
  // working, without persistence.
  function storageRead(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (error) {
      return null;
    }
  }

  function storageWrite(key, value) {
    try {
      window.localStorage.setItem(key, value);
      return true;
    } catch (error) {
      console.warn(LOG_PREFIX, "Could not write to localStorage:", error.name);
      return false;
    }
  }

  function storageRemove(key) {
    try {
      window.localStorage.removeItem(key);
    } catch (error) {
      // Nothing was stored either.
    }
  }

  function isStoredItem(item) {
    return Boolean(item) && typeof item === "object" && typeof item.id === "string" &&
      ["user", "bot", "notice"].indexOf(item.kind) !== -1;
  }

  // Load the stored transcript and session id, or drop both when the
  // transcript is missing, unreadable or older than 24 h without activity.
  function loadConversation() {
    const raw = storageRead(TRANSCRIPT_KEY);
    let record = null;
    if (raw) {
      try {
        record = JSON.parse(raw);
      } catch (error) {
        record = null;
      }
    }
    const valid = record && record.version === TRANSCRIPT_VERSION &&
      Array.isArray(record.items) && typeof record.lastActivity === "number";
    if (!valid || Date.now() - record.lastActivity > TRANSCRIPT_EXPIRY_MS) {
      storageRemove(TRANSCRIPT_KEY);
      storageRemove(SESSION_KEY);
      return;
    }
    state.items = record.items.filter(isStoredItem).slice(-MAX_STORED_ITEMS);
    state.lastActivity = record.lastActivity;
    state.sessionId = storageRead(SESSION_KEY) || null;
    state.nextId = state.items.length;
    state.withCounsellor = record.withCounsellor === true;
    state.items.forEach(function (item) {
      const messageId = item.message ? validMessageId(item.message.message_id) : null;
      if (messageId !== null) {
        seenMessageIds.add(messageId);
      }
    });
  }

  function saveConversation() {
    const record = {
      version: TRANSCRIPT_VERSION,
      lastActivity: state.lastActivity,
      withCounsellor: state.withCounsellor,
      items: state.items.slice(-MAX_STORED_ITEMS),
    };
    storageWrite(TRANSCRIPT_KEY, JSON.stringify(record));
  }

  function isExpired() {
    return state.lastActivity > 0 && Date.now() - state.lastActivity > TRANSCRIPT_EXPIRY_MS;
  }

  /* ---------- Small DOM helpers ---------- */

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function button(className, label, onClick) {
    const node = el("button", className, label);
    node.type = "button";
    if (onClick) {
      node.addEventListener("click", onClick);
    }
    return node;
  }

  function icon(name) {
    const svgNs = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(svgNs, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "sc-icon");
    ICONS[name].forEach(function (pathData) {
      const path = document.createElementNS(svgNs, "path");
      path.setAttribute("d", pathData);
      svg.appendChild(path);
    });
    return svg;
  }

  function visuallyHidden(text) {
    return el("span", "sc-visually-hidden", text);
  }

  function textOf(value) {
    if (typeof value === "string") {
      return value.trim();
    }
    if (typeof value === "number" && isFinite(value)) {
      return String(value);
    }
    return "";
  }

  function safeHttpUrl(value) {
    const text = textOf(value);
    if (!text) {
      return null;
    }
    try {
      const url = new URL(text);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (error) {
      return null;
    }
  }

  function externalLink(className, href, label, accessibleName) {
    const link = el("a", className, label);
    link.href = href;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    if (accessibleName) {
      link.setAttribute("aria-label", accessibleName + TEXT.newTab);
    } else {
      link.appendChild(visuallyHidden(TEXT.newTab));
    }
    return link;
  }

  function telHref(phone) {
    const digits = phone.replace(/[^\d+]/g, "");
    return /\d{2,}/.test(digits) ? "tel:" + digits : null;
  }

  function formatNumber(value, fractionDigits) {
    return new Intl.NumberFormat("fr-FR", {
      minimumFractionDigits: fractionDigits,
      maximumFractionDigits: fractionDigits,
    }).format(value);
  }

  // "à 2,3 km" below 10 km, "à 14 km" beyond, where a decimal adds nothing.
  function formatDistance(value) {
    const km = typeof value === "string" ? parseFloat(value) : value;
    if (typeof km !== "number" || !isFinite(km) || km < 0) {
      return "";
    }
    return TEXT.distancePrefix + formatNumber(km, km < 10 ? 1 : 0) + TEXT.distanceSuffix;
  }

  // "2024-03-12" becomes "12/03/2024". Any other format is shown as sent.
  function formatDate(value) {
    const text = textOf(value);
    const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
    return match ? match[3] + "/" + match[2] + "/" + match[1] : text;
  }

  // Describe the date of a directory entry, which the sources give as a day,
  // a month or a year: "Informations du 12/03/2024", "Informations d'avril 2010",
  // "Informations de 2025".
  function formatSourceDate(value) {
    const text = textOf(value);
    if (!text) {
      return "";
    }
    if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
      return TEXT.sourceDay + formatDate(text);
    }
    const month = /^(\d{4})-(\d{2})$/.exec(text);
    const monthName = month ? TEXT.months[parseInt(month[2], 10) - 1] : undefined;
    if (monthName) {
      const preposition = /^[aeiou]/.test(monthName) ? TEXT.sourceMonthElided : TEXT.sourceMonth;
      return preposition + monthName + " " + month[1];
    }
    if (/^\d{4}$/.test(text)) {
      return TEXT.sourceMonth + text;
    }
    return TEXT.sourceOther + text;
  }

  // URLs at the end of a sentence usually carry its punctuation, which is not part of them.
  const URL_PATTERN = /\bhttps?:\/\/[^\s<>"]+/gi;
  const TRAILING_PUNCTUATION = /[.,;:!?)\]}»'’]+$/;

  // Append text to parent, turning each http(s) URL into a link. Other
  // schemes (javascript:, data:, …) stay plain text.
  function appendLinkifiedText(parent, text) {
    let lastIndex = 0;
    let match = null;
    URL_PATTERN.lastIndex = 0;
    while ((match = URL_PATTERN.exec(text)) !== null) {
      let candidate = match[0];
      const trailing = TRAILING_PUNCTUATION.exec(candidate);
      if (trailing) {
        candidate = candidate.slice(0, candidate.length - trailing[0].length);
      }
      const href = safeHttpUrl(candidate);
      if (!href) {
        continue;
      }
      appendTextWithNumbers(parent, text.slice(lastIndex, match.index));
      parent.appendChild(externalLink("sc-link", href, candidate));
      lastIndex = match.index + candidate.length;
    }
    appendTextWithNumbers(parent, text.slice(lastIndex));
  }

  // Append text to parent, turning each help number of the loaded list into
  // a tel: or sms: link where a sentence dials it ("appelle le 3114", "au
  // 114", "📞 0800 235 236"). Short numbers elsewhere ("16-25 ans") stay text.
  function appendTextWithNumbers(parent, text) {
    const lines = helplines.data ? helplines.data.lines : [];
    if (!text || !lines.length) {
      parent.appendChild(document.createTextNode(text));
      return;
    }
    const byNumber = {};
    const alternatives = lines
      .map(function (line) {
        const number = textOf(line.number);
        byNumber[number] = line;
        return number.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      })
      .sort(function (first, second) { return second.length - first.length; });
    const pattern = new RegExp("(\\ble |\\bau |📞 |✉️ )(" + alternatives.join("|") + ")(?![\\d])", "g");
    let lastIndex = 0;
    let match = null;
    while ((match = pattern.exec(text)) !== null) {
      const line = byNumber[match[2]];
      const href = helplineHref(line);
      if (!href) {
        continue;
      }
      const start = match.index + match[1].length;
      parent.appendChild(document.createTextNode(text.slice(lastIndex, start)));
      const link = el("a", "sc-link sc-number", match[2]);
      link.href = href;
      parent.appendChild(link);
      lastIndex = start + match[2].length;
    }
    parent.appendChild(document.createTextNode(text.slice(lastIndex)));
  }

  // The tel: or sms: link of a helpline, from the server's uri field.
  function helplineHref(line) {
    const uri = line ? textOf(line.uri) : "";
    if (/^(tel|sms):\+?[0-9]+$/.test(uri)) {
      return uri;
    }
    return line ? telHref(textOf(line.number)) : null;
  }

  /* ---------- Bot message normalisation ---------- */

  function normaliseQuickReplies(replies) {
    if (!Array.isArray(replies)) {
      return [];
    }
    return replies
      .filter(function (reply) {
        return reply && typeof reply === "object" && (textOf(reply.title) || textOf(reply.payload));
      })
      .map(function (reply) {
        return {
          title: textOf(reply.title) || textOf(reply.payload),
          payload: textOf(reply.payload) || textOf(reply.title),
          content_type: textOf(reply.content_type) || "text",
        };
      });
  }

  // Keep the parts of a bot_uttered event that the widget can show, or
  // return null when nothing is left.
  function normaliseBotMessage(data) {
    const message = {};
    if (typeof data.text === "string" && data.text.trim()) {
      message.text = data.text;
    }
    // Rasa's socket.io channel sends buttons as quick_replies; "buttons" is accepted too.
    const replies = normaliseQuickReplies(data.quick_replies || data.buttons);
    if (replies.length) {
      message.quick_replies = replies;
    }
    if (data.custom && typeof data.custom === "object") {
      if (KNOWN_CUSTOM_TYPES.indexOf(data.custom.type) === -1) {
        console.warn(LOG_PREFIX, "Ignored a custom message of unknown type:", data.custom.type);
      } else if (renderCustom(data.custom)) {
        message.custom = data.custom;
      } else {
        console.warn(LOG_PREFIX, "Ignored an empty custom message of type", data.custom.type);
      }
    }
    if (data.attachment) {
      console.warn(LOG_PREFIX, "Ignored an attachment, which the widget does not show.");
    }
    if (!Object.keys(message).length) {
      return null;
    }

    // Messages of the human handoff: who wrote them, and their id for the acknowledgement.
    if (data.author === "counsellor" || data.author === "system") {
      message.author = data.author;
    }
    if (data.author === "counsellor") {
      message.counsellor_name = textOf(data.counsellor_name) || TEXT.counsellorName;
    }
    const messageId = validMessageId(data.message_id);
    if (messageId !== null) {
      message.message_id = messageId;
    }
    return message;
  }

  function validMessageId(value) {
    return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : null;
  }

  /* ---------- Rendering of transcript items ---------- */

  function renderPlaceCard(place) {
    if (!place || typeof place !== "object") {
      return null;
    }
    const card = el("li", "sc-card sc-card-place");
    const name = textOf(place.name);
    if (name) {
      const title = el("p", "sc-card-title", name);
      title.setAttribute("role", "heading");
      title.setAttribute("aria-level", "3");
      card.appendChild(title);
    }
    const typeLabel = textOf(place.type_label) || textOf(place.type);
    if (typeLabel) {
      card.appendChild(el("p", "sc-card-type", typeLabel));
    }
    const cityLine = [textOf(place.postal_code), textOf(place.commune)].filter(Boolean).join(" ");
    const address = [textOf(place.address), cityLine].filter(Boolean).join("\n");
    if (address) {
      card.appendChild(el("p", "sc-card-address", address));
    }
    const distance = formatDistance(place.distance_km);
    if (distance) {
      card.appendChild(el("p", "sc-card-distance", distance));
    }
    if (place.approximate === true) {
      card.appendChild(el("p", "sc-card-note", TEXT.approximate));
    }
    if (place.address_checked === false) {
      card.appendChild(el("p", "sc-card-note", TEXT.addressUnchecked));
    }

    const contacts = el("ul", "sc-card-links");
    const phone = textOf(place.phone);
    const phoneHref = phone ? telHref(phone) : null;
    if (phone) {
      const line = el("li", "sc-card-phone", TEXT.phoneLabel);
      if (phoneHref) {
        const link = el("a", "sc-link", phone);
        link.href = phoneHref;
        line.appendChild(link);
      } else {
        line.appendChild(document.createTextNode(phone));
      }
      contacts.appendChild(line);
    }
    const email = textOf(place.email);
    if (email && /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/.test(email)) {
      const line = el("li", "sc-card-email", TEXT.emailLabel);
      const link = el("a", "sc-link", email);
      link.href = "mailto:" + email;
      line.appendChild(link);
      contacts.appendChild(line);
    }
    const website = safeHttpUrl(place.website);
    if (website) {
      const line = el("li", "sc-card-website");
      line.appendChild(externalLink("sc-link", website, TEXT.website,
        name ? TEXT.website + " : " + name : ""));
      contacts.appendChild(line);
    }
    const mapUrl = safeHttpUrl(place.map_url);
    if (mapUrl) {
      const line = el("li", "sc-card-map");
      line.appendChild(externalLink("sc-link", mapUrl, TEXT.map,
        name ? TEXT.map + " : " + name : ""));
      contacts.appendChild(line);
    }
    if (contacts.childNodes.length) {
      card.appendChild(contacts);
    }
    const sourceDate = formatSourceDate(place.source_date);
    if (sourceDate) {
      card.appendChild(el("p", "sc-card-source", sourceDate));
    }
    return card.childNodes.length ? card : null;
  }

  function renderTrainingCard(training) {
    if (!training || typeof training !== "object") {
      return null;
    }
    const card = el("li", "sc-card sc-card-training");

    const name = textOf(training.name);
    if (name) {
      const title = el("p", "sc-card-title", name);
      title.setAttribute("role", "heading");
      title.setAttribute("aria-level", "3");
      card.appendChild(title);
    }
    const typeLabel = textOf(training.type_label);
    if (typeLabel) {
      card.appendChild(el("p", "sc-card-type", typeLabel));
    }
    const duration = textOf(training.duration);
    if (duration) {
      card.appendChild(el("p", "sc-card-detail", TEXT.duration + duration));
    }
    const level = textOf(training.level);
    if (level) {
      card.appendChild(el("p", "sc-card-detail", TEXT.level + level));
    }

    const url = safeHttpUrl(training.url);
    if (url) {
      const links = el("ul", "sc-card-links");
      const line = el("li", "sc-card-onisep");
      line.appendChild(externalLink("sc-link", url, TEXT.onisep,
        name ? TEXT.onisep + " : " + name : ""));
      links.appendChild(line);
      card.appendChild(links);
    }
    return card.childNodes.length ? card : null;
  }

  function renderCards(className, entries, renderCard) {
    if (!Array.isArray(entries)) {
      return null;
    }
    const list = el("ul", "sc-cards " + className);
    entries.forEach(function (entry) {
      const card = renderCard(entry);
      if (card) {
        list.appendChild(card);
      }
    });
    return list.childNodes.length ? list : null;
  }

  function renderCustom(custom) {
    if (custom.type === "place_cards") {
      return renderCards("sc-cards-places", custom.places, renderPlaceCard);
    }
    if (custom.type === "training_cards") {
      return renderCards("sc-cards-trainings", custom.trainings, renderTrainingCard);
    }
    if (custom.type === "notice") {
      const text = textOf(custom.text);
      return text ? el("p", "sc-notice", text) : null;
    }
    return null;
  }

  function renderQuickReplies(item) {
    const group = el("div", "sc-quick-replies");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", TEXT.quickRepliesLabel);
    item.message.quick_replies.forEach(function (reply, index) {
      const node = button("sc-quick-reply", reply.title, function () {
        onQuickReply(item, index);
      });
      if (item.usedReply !== null && item.usedReply !== undefined) {
        node.disabled = true;
        if (item.usedReply === index) {
          node.classList.add("sc-quick-reply-chosen");
        }
      }
      group.appendChild(node);
    });
    return group;
  }

  function isNoticeOnly(message) {
    return !message.text && !message.quick_replies && Boolean(message.custom) &&
      message.custom.type === "notice";
  }

  function renderBotItem(item) {
    const message = item.message || {};
    if (isNoticeOnly(message)) {
      // A notice ("Un conseiller a rejoint la conversation.") belongs to no
      // speaker: it is centred, like the widget's own notices.
      const noticeNode = el("li", "sc-item sc-item-notice sc-item-system");
      noticeNode.appendChild(renderCustom(message.custom));
      return noticeNode;
    }
    const fromCounsellor = message.author === "counsellor";
    const node = el("li", fromCounsellor ? "sc-item sc-item-bot sc-item-counsellor" : "sc-item sc-item-bot");
    if (fromCounsellor) {
      const name = message.counsellor_name || TEXT.counsellorName;
      const author = el("p", "sc-author", name);
      author.setAttribute("aria-hidden", "true");
      node.appendChild(author);
      node.appendChild(visuallyHidden(name + " : "));
    } else {
      node.appendChild(visuallyHidden(TEXT.botPrefix));
    }
    if (message.text) {
      const bubble = el("div", fromCounsellor ? "sc-bubble sc-bubble-counsellor" : "sc-bubble sc-bubble-bot");
      appendLinkifiedText(bubble, message.text);
      node.appendChild(bubble);
    }
    if (message.quick_replies && message.quick_replies.length) {
      node.appendChild(renderQuickReplies(item));
    }
    if (message.custom) {
      const custom = renderCustom(message.custom);
      if (custom) {
        node.appendChild(custom);
      }
    }
    return node;
  }

  function renderUserItem(item) {
    const node = el("li", "sc-item sc-item-user");
    node.appendChild(visuallyHidden(TEXT.userPrefix));
    node.appendChild(el("div", "sc-bubble sc-bubble-user", item.text));
    if (item.status === "pending") {
      node.appendChild(el("p", "sc-status-label sc-pending", TEXT.pending));
    } else if (item.status === "failed") {
      node.appendChild(el("p", "sc-status-label sc-failed", TEXT.failedLocation));
    }
    return node;
  }

  function renderNoticeItem(item) {
    const node = el("li", "sc-item sc-item-notice");
    node.appendChild(el("p", "sc-notice", item.text));
    return node;
  }

  function renderItem(item) {
    let node = null;
    if (item.kind === "user") {
      node = renderUserItem(item);
    } else if (item.kind === "bot") {
      node = renderBotItem(item);
    } else {
      node = renderNoticeItem(item);
    }
    node.dataset.itemId = item.id;
    return node;
  }

  function rerenderItem(item) {
    const oldNode = itemNodes.get(item.id);
    if (!oldNode) {
      return;
    }
    const newNode = renderItem(item);
    oldNode.replaceWith(newNode);
    itemNodes.set(item.id, newNode);
  }

  /* ---------- Transcript operations ---------- */

  function newItemId() {
    state.nextId += 1;
    return Date.now().toString(36) + "-" + state.nextId;
  }

  function addItem(item) {
    item.id = newItemId();
    state.items.push(item);
    state.lastActivity = Date.now();
    while (state.items.length > MAX_STORED_ITEMS) {
      const removed = state.items.shift();
      const node = itemNodes.get(removed.id);
      if (node) {
        node.remove();
      }
      itemNodes.delete(removed.id);
      pendingLocations.delete(removed.id);
    }
    saveConversation();
    if (ui.messages) {
      ui.welcome.hidden = true;
      const node = renderItem(item);
      itemNodes.set(item.id, node);
      ui.messages.appendChild(node);
      scrollToNode(node);
    }
    return item;
  }

  function addNotice(text) {
    return addItem({ kind: "notice", text: text });
  }

  function clearConversation() {
    state.items = [];
    state.lastActivity = 0;
    state.sessionId = null;
    state.sessionConfirmed = false;
    pendingLocations.clear();
    itemNodes.clear();
    seenMessageIds.clear();
    pendingAcks = [];
    setWithCounsellor(false);
    replyStart = null;
    storageRemove(TRANSCRIPT_KEY);
    storageRemove(SESSION_KEY);
    if (ui.messages) {
      ui.messages.textContent = "";
      ui.welcome.hidden = false;
      hideTyping();
      hideCounsellorTyping();
    }
  }

  function renderTranscript() {
    ui.messages.textContent = "";
    itemNodes.clear();
    state.items.forEach(function (item) {
      const node = renderItem(item);
      itemNodes.set(item.id, node);
      ui.messages.appendChild(node);
    });
    ui.welcome.hidden = state.items.length > 0;
  }

  /* ---------- Sending ---------- */

  function isSocketReady() {
    return Boolean(socket) && socket.connected && state.sessionConfirmed;
  }

  // Queue a user message and send it as soon as the server is reachable.
  // displayText is shown in the transcript, message is sent to the server.
  function sendUserMessage(displayText, message, location) {
    if (isExpired()) {
      startNewConversation();
    }
    const item = { kind: "user", text: displayText, status: "pending", outgoing: message };
    if (location) {
      item.hasLocation = true;
    }
    addItem(item);
    if (location) {
      pendingLocations.set(item.id, location);
    }
    flushPending();
  }

  // Send the queued messages in order. Nothing is emitted before the server
  // confirmed the session, because the server sends replies only to the
  // sockets that joined the session's room, which session_request does.
  function flushPending() {
    if (!isSocketReady()) {
      return;
    }
    let sent = 0;
    state.items.forEach(function (item) {
      if (item.kind !== "user" || item.status !== "pending") {
        return;
      }
      const data = { message: item.outgoing || item.text, session_id: state.sessionId };
      if (item.outgoing && item.outgoing !== item.text) {
        // A button press: the title is what a counsellor reads during a handoff.
        data.title = item.text;
      }
      if (item.hasLocation) {
        const location = pendingLocations.get(item.id);
        if (!location) {
          // The page was reloaded before sending, and coordinates are never stored.
          item.status = "failed";
          delete item.outgoing;
          rerenderItem(item);
          return;
        }
        data.location = location;
        pendingLocations.delete(item.id);
      }
      // NOTE: Rasa's channel sends no acknowledgement, so a message emitted
      // just before the connection drops unnoticed can still be lost.
      socket.emit("user_uttered", data);
      item.status = "sent";
      delete item.outgoing;
      rerenderItem(item);
      sent += 1;
    });
    saveConversation();
    if (sent > 0 && !state.withCounsellor) {
      showTyping();
    }
  }

  function onSubmit(event) {
    event.preventDefault();
    const text = ui.input.value.trim();
    if (!text) {
      return;
    }
    sendUserMessage(text, text, null);
    ui.input.value = "";
    updateInput();
    ui.input.focus();
  }

  function onQuickReply(item, index) {
    if (item.usedReply !== null && item.usedReply !== undefined) {
      return;
    }
    const reply = item.message.quick_replies[index];
    item.usedReply = index;
    rerenderItem(item);
    saveConversation();
    if (reply.content_type === "location") {
      requestLocation();
      return;
    }
    sendUserMessage(reply.title, reply.payload, null);
    // On a phone, focusing the input would open the keyboard over the reply.
    if (!isFullScreen()) {
      ui.input.focus();
    }
  }

  function onAskCounsellor() {
    sendUserMessage(TEXT.askCounsellor, ASK_COUNSELLOR_PAYLOAD, null);
    if (!isFullScreen()) {
      ui.input.focus();
    }
  }

  // Tell the server that the user is typing, at most every 2 s. The server
  // forwards it to the counsellor only while one has the conversation.
  function onUserTyping() {
    if (!ui.input.value.trim() || !isSocketReady()) {
      return;
    }
    const now = Date.now();
    if (now - lastUserTypingSent < USER_TYPING_INTERVAL_MS) {
      return;
    }
    lastUserTypingSent = now;
    socket.emit("user_typing", { session_id: state.sessionId });
  }

  /* ---------- Acknowledgements of counsellor messages ---------- */

  function queueAck(messageId) {
    pendingAcks.push(messageId);
    if (ackTimer === null) {
      // Messages delivered together are acknowledged together.
      ackTimer = window.setTimeout(flushAcks, 0);
    }
  }

  // Send the pending acknowledgements once the session is confirmed. A lost
  // one does no harm: the server sends unacknowledged messages again.
  function flushAcks() {
    ackTimer = null;
    if (!pendingAcks.length || !isSocketReady()) {
      return;
    }
    const ids = pendingAcks;
    pendingAcks = [];
    socket.emit("message_ack", { session_id: state.sessionId, message_ids: ids });
  }

  function rememberMessageId(messageId) {
    seenMessageIds.add(messageId);
    if (seenMessageIds.size > MAX_SEEN_MESSAGE_IDS) {
      // Sets iterate in insertion order: drop the oldest id.
      seenMessageIds.delete(seenMessageIds.values().next().value);
    }
  }

  /* ---------- Geolocation ---------- */

  function geolocationErrorText(error) {
    if (error && error.code === 1) {
      return TEXT.geoPermissionDenied;
    }
    if (error && error.code === 3) {
      return TEXT.geoTimeout;
    }
    return TEXT.geoUnavailable;
  }

  function setLocating(locating) {
    state.locating = locating;
    ui.locate.disabled = locating;
    ui.locate.setAttribute("aria-busy", locating ? "true" : "false");
    ui.locateText.textContent = locating ? TEXT.locating : TEXT.locate;
  }

  function requestLocation() {
    if (state.locating) {
      return;
    }
    if (!navigator.geolocation) {
      addNotice(TEXT.geoUnsupported);
      return;
    }
    if (window.isSecureContext === false) {
      addNotice(TEXT.geoInsecure);
      return;
    }
    setLocating(true);
    navigator.geolocation.getCurrentPosition(
      function (position) {
        setLocating(false);
        const coords = position.coords;
        sendUserMessage(TEXT.locationShown, LOCATION_MESSAGE, {
          latitude: coords.latitude,
          longitude: coords.longitude,
          accuracy: coords.accuracy,
        });
      },
      function (error) {
        setLocating(false);
        console.info(LOG_PREFIX, "Geolocation failed with code", error && error.code);
        addNotice(geolocationErrorText(error));
      },
      { enableHighAccuracy: false, timeout: GEOLOCATION_TIMEOUT_MS, maximumAge: GEOLOCATION_MAX_AGE_MS }
    );
  }

  /* ---------- Typing indicator and connection state ---------- */

  function showTyping() {
    ui.typing.hidden = false;
    window.clearTimeout(typingTimer);
    typingTimer = window.setTimeout(hideTyping, TYPING_TIMEOUT_MS);
    scrollToBottom();
  }

  function hideTyping() {
    window.clearTimeout(typingTimer);
    if (ui.typing) {
      ui.typing.hidden = true;
    }
  }

  function showCounsellorTyping() {
    ui.counsellorTyping.hidden = false;
    window.clearTimeout(counsellorTypingTimer);
    counsellorTypingTimer = window.setTimeout(hideCounsellorTyping, COUNSELLOR_TYPING_TIMEOUT_MS);
    scrollToBottom();
  }

  function hideCounsellorTyping() {
    window.clearTimeout(counsellorTypingTimer);
    if (ui.counsellorTyping) {
      ui.counsellorTyping.hidden = true;
    }
  }

  function onCounsellorTyping(data) {
    if (data && data.typing === true) {
      hideTyping();
      showCounsellorTyping();
    } else {
      hideCounsellorTyping();
    }
  }

  // Record whether the conversation is with the counsellors, and show it
  // under the title, which otherwise states that no person replies.
  function setWithCounsellor(withCounsellor) {
    state.withCounsellor = withCounsellor;
    if (ui.subtitle) {
      ui.subtitle.textContent = withCounsellor ? TEXT.subtitleCounsellor : TEXT.subtitle;
    }
  }

  // The server routed the user's message to the counsellors: no reply of the
  // assistant is coming.
  function onHandoffStatus(data) {
    if (data && data.with_counsellor === true) {
      setWithCounsellor(true);
      hideTyping();
      saveConversation();
    }
  }

  function setConnection(connection, message) {
    state.connection = connection;
    ui.status.hidden = connection !== "disconnected" && connection !== "failed";
    ui.status.textContent = connection === "failed" ? TEXT.loadFailed : (message || TEXT.disconnected);
    ui.root.classList.toggle("sc-is-offline", !ui.status.hidden);
  }

  /* ---------- Socket.IO ---------- */

  function requestSession() {
    state.sessionConfirmed = false;
    socket.emit("session_request", { session_id: state.sessionId });
  }

  function onSessionConfirm(data) {
    const sessionId = typeof data === "string" ? data : (data && data.session_id);
    if (!sessionId || typeof sessionId !== "string") {
      console.warn(LOG_PREFIX, "session_confirm without a session id was ignored.");
      return;
    }
    state.sessionId = sessionId;
    state.sessionConfirmed = true;
    storageWrite(SESSION_KEY, sessionId);
    if (!state.lastActivity) {
      state.lastActivity = Date.now();
    }
    saveConversation();
    flushPending();
    flushAcks();
  }

  function onBotUttered(data) {
    hideTyping();
    if (!data || typeof data !== "object") {
      console.warn(LOG_PREFIX, "Ignored a bot_uttered event that is not an object.");
      return;
    }
    const messageId = validMessageId(data.message_id);
    if (messageId !== null && seenMessageIds.has(messageId)) {
      // Delivered again because the acknowledgement did not arrive: show it once.
      queueAck(messageId);
      return;
    }
    const message = normaliseBotMessage(data);
    if (!message) {
      return;
    }
    if (message.author === "counsellor") {
      setWithCounsellor(true);
      hideCounsellorTyping();
    } else if (!message.author) {
      // The assistant replies again, so the handoff is over.
      setWithCounsellor(false);
    } else if (message.custom && typeof message.custom.with_counsellor === "boolean") {
      // A notice of the handoff: taken, transferred, handed back, closed.
      setWithCounsellor(message.custom.with_counsellor);
      if (!message.custom.with_counsellor) {
        hideCounsellorTyping();
      }
    }
    addItem({ kind: "bot", message: message, usedReply: null });
    if (messageId !== null) {
      rememberMessageId(messageId);
      queueAck(messageId);
    }
    if (!state.isOpen) {
      ui.root.classList.add("sc-has-unread");
    }
  }

  function connect() {
    socket = window.io(config.origin, {
      path: config.socketPath,
      transports: ["websocket", "polling"],
    });
    socket.on("connect", function () {
      setConnection("connected");
      requestSession();
    });
    socket.on("session_confirm", onSessionConfirm);
    socket.on("bot_uttered", onBotUttered);
    socket.on("counsellor_typing", onCounsellorTyping);
    socket.on("handoff_status", onHandoffStatus);
    socket.on("disconnect", function (reason) {
      state.sessionConfirmed = false;
      hideTyping();
      hideCounsellorTyping();
      setConnection("disconnected");
      // After a disconnection decided by the server, socket.io does not reconnect by itself.
      if (reason === "io server disconnect") {
        socket.connect();
      }
    });
    socket.on("connect_error", function (error) {
      console.warn(LOG_PREFIX, "Connection to the server failed:", error && error.message);
      setConnection("disconnected");
    });
  }

  function loadSocketIo(onLoad) {
    if (typeof window.io === "function") {
      onLoad();
      return;
    }
    if (!config.socketIoSrc) {
      console.error(LOG_PREFIX, "socket.io client not found: load socket.io.min.js or set data-socketio-src.");
      setConnection("failed");
      return;
    }
    const loader = document.createElement("script");
    loader.src = config.socketIoSrc;
    loader.async = true;
    loader.addEventListener("load", function () {
      if (typeof window.io === "function") {
        onLoad();
      } else {
        console.error(LOG_PREFIX, "socket.io.min.js loaded but did not define window.io.");
        setConnection("failed");
      }
    });
    loader.addEventListener("error", function () {
      console.error(LOG_PREFIX, "Could not load the socket.io client from", config.socketIoSrc);
      setConnection("failed");
    });
    document.head.appendChild(loader);
  }

  /* ---------- Helplines ---------- */

  function isValidHelpline(line) {
    return Boolean(line) && typeof line === "object" && Boolean(textOf(line.number));
  }

  function loadHelplines() {
    if (helplines.status === "loading" || helplines.status === "loaded") {
      return;
    }
    helplines.status = "loading";
    renderHelplines();
    const controller = typeof AbortController === "function" ? new AbortController() : null;
    const timer = window.setTimeout(function () {
      if (controller) {
        controller.abort();
      }
    }, HELPLINES_TIMEOUT_MS);
    window.fetch(config.baseUrl + HELPLINES_PATH, {
      credentials: "omit",
      headers: { Accept: "application/json" },
      signal: controller ? controller.signal : undefined,
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP status " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        const lines = data && Array.isArray(data.helplines) ? data.helplines.filter(isValidHelpline) : [];
        if (!lines.length) {
          throw new Error("no helpline in the response");
        }
        helplines.status = "loaded";
        helplines.data = { lastVerified: textOf(data.last_verified), lines: lines };
      })
      .catch(function (error) {
        console.warn(LOG_PREFIX, "Helplines unavailable:", error && error.message);
        helplines.status = "failed";
      })
      .then(function () {
        window.clearTimeout(timer);
        renderHelplines();
      });
  }

  function renderHelpline(line) {
    const node = el("li", "sc-helpline");
    const number = textOf(line.number);
    const name = textOf(line.name);
    if (name) {
      node.appendChild(el("p", "sc-helpline-name", name));
    }

    const href = helplineHref(line);
    if (href) {
      const link = el("a", "sc-helpline-number");
      link.href = href;
      const action = href.indexOf("sms:") === 0 ? TEXT.helpSms : TEXT.helpCall;
      link.setAttribute("aria-label", action + number + (name ? " (" + name + ")" : ""));
      link.appendChild(icon("phone"));
      link.appendChild(document.createTextNode(number));
      node.appendChild(link);
    } else {
      node.appendChild(el("p", "sc-helpline-number", number));
    }

    const description = textOf(line.description);
    if (description) {
      node.appendChild(el("p", "sc-helpline-description", description));
    }
    const hours = textOf(line.hours);
    if (hours) {
      node.appendChild(el("p", "sc-helpline-hours", TEXT.helpHours + hours));
    }
    const url = safeHttpUrl(line.url);
    if (url) {
      node.appendChild(externalLink("sc-link sc-helpline-url", url, TEXT.website,
        name ? TEXT.website + " : " + name : ""));
    }
    return node;
  }

  function renderEmergencyLine() {
    const line = el("p", "sc-help-emergency", TEXT.helpEmergency);
    const link = el("a", "sc-link", TEXT.helpEmergencyNumber);
    link.href = "tel:" + TEXT.helpEmergencyNumber;
    line.appendChild(link);
    line.appendChild(document.createTextNode(TEXT.helpEmergencyEnd));
    return line;
  }

  function renderHelplines() {
    const body = ui.helpBody;
    if (!body) {
      return;
    }
    body.textContent = "";
    if (helplines.status === "loading" || helplines.status === "idle") {
      body.appendChild(el("p", "sc-help-text", TEXT.helpLoading));
      return;
    }
    if (helplines.status === "failed") {
      body.appendChild(el("p", "sc-help-text sc-help-unavailable", TEXT.helpUnavailable));
      body.appendChild(renderEmergencyLine());
      return;
    }

    body.appendChild(el("p", "sc-help-text", TEXT.helpIntro));
    const list = el("ul", "sc-helplines");
    helplines.data.lines.forEach(function (line) {
      list.appendChild(renderHelpline(line));
    });
    body.appendChild(list);

    const hasEmergency = helplines.data.lines.some(function (line) {
      return textOf(line.number).replace(/\s/g, "") === TEXT.helpEmergencyNumber;
    });
    if (!hasEmergency) {
      body.appendChild(renderEmergencyLine());
    }
    if (helplines.data.lastVerified) {
      body.appendChild(el("p", "sc-help-verified",
        TEXT.helpVerified + formatDate(helplines.data.lastVerified) + "."));
    }
  }

  function openHelp() {
    if (helplines.status === "failed") {
      loadHelplines();
    }
    ui.help.hidden = false;
    ui.helpToggle.setAttribute("aria-expanded", "true");
    ui.helpTitle.focus();
  }

  function closeHelp() {
    if (ui.help.hidden) {
      return;
    }
    ui.help.hidden = true;
    ui.helpToggle.setAttribute("aria-expanded", "false");
    ui.helpToggle.focus();
  }

  /* ---------- Panel, confirmation and input ---------- */

  function scrollToBottom() {
    ui.scroll.scrollTop = ui.scroll.scrollHeight;
  }

  // Scroll to the newest message, but never past the top of the first reply
  // to the user's last message: a list of cards taller than the view is then
  // read from its first card, even when shorter messages follow it.
  function scrollToNode(node) {
    if (node.classList.contains("sc-item-user")) {
      replyStart = null;
    } else if (!replyStart) {
      replyStart = node;
    }
    const bottom = ui.scroll.scrollHeight - ui.scroll.clientHeight;
    const limit = replyStart && replyStart.isConnected ? replyStart.offsetTop - 8 : bottom;
    ui.scroll.scrollTop = Math.min(bottom, limit);
  }

  function openPanel(focusInput) {
    if (!ui.root) {
      return;
    }
    state.isOpen = true;
    ui.panel.hidden = false;
    ui.panel.setAttribute("aria-modal", isFullScreen() ? "true" : "false");
    ui.root.classList.add("sc-is-open");
    ui.root.classList.remove("sc-has-unread");
    ui.launcher.setAttribute("aria-expanded", "true");
    ui.launcher.setAttribute("aria-label", TEXT.launcherCloseLabel);
    scrollToBottom();
    if (focusInput) {
      ui.input.focus();
    }
  }

  function closePanel() {
    if (!ui.root) {
      return;
    }
    const hadFocus = ui.panel.contains(document.activeElement);
    state.isOpen = false;
    ui.panel.hidden = true;
    ui.root.classList.remove("sc-is-open");
    ui.launcher.setAttribute("aria-expanded", "false");
    ui.launcher.setAttribute("aria-label", TEXT.launcherLabel);
    if (hadFocus) {
      ui.launcher.focus();
    }
  }

  function showConfirm() {
    ui.confirm.hidden = false;
    ui.confirmNo.focus();
  }

  function hideConfirm() {
    ui.confirm.hidden = true;
  }

  // Clear the transcript and the stored session id, then ask the server for a new session.
  function startNewConversation() {
    clearConversation();
    if (socket && socket.connected) {
      requestSession();
    }
  }

  function updateInput() {
    const input = ui.input;
    // maxlength already caps typing and pasting; this also covers values set by script.
    if (input.value.length > MAX_MESSAGE_LENGTH) {
      input.value = input.value.slice(0, MAX_MESSAGE_LENGTH);
    }
    const length = input.value.length;
    ui.counter.hidden = length < COUNTER_THRESHOLD;
    ui.counter.classList.toggle("sc-counter-full", length >= MAX_MESSAGE_LENGTH);
    ui.counter.textContent = formatNumber(length, 0) + " / " + formatNumber(MAX_MESSAGE_LENGTH, 0) +
      TEXT.counterSuffix + (length >= MAX_MESSAGE_LENGTH ? TEXT.counterLimit : "");
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 140) + "px";
  }

  function onInputKeydown(event) {
    // Enter during an IME composition confirms the composition, not the message.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      onSubmit(event);
    }
  }

  function isFullScreen() {
    return Boolean(window.matchMedia) && window.matchMedia(FULL_SCREEN_QUERY).matches;
  }

  // Keep Tab inside the panel while it covers the whole screen, because the
  // page behind it cannot be seen.
  function trapFocus(event) {
    if (!isFullScreen()) {
      return;
    }
    const focusable = Array.prototype.filter.call(
      ui.panel.querySelectorAll(FOCUSABLE_SELECTOR),
      function (node) {
        return node.offsetParent !== null;
      }
    );
    if (!focusable.length) {
      return;
    }
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  }

  function onPanelKeydown(event) {
    if (event.key === "Tab") {
      trapFocus(event);
      return;
    }
    if (event.key !== "Escape") {
      return;
    }
    event.stopPropagation();
    if (!ui.help.hidden) {
      closeHelp();
    } else if (!ui.confirm.hidden) {
      hideConfirm();
      ui.newButton.focus();
    } else {
      closePanel();
    }
  }

  /* ---------- Building the DOM ---------- */

  function buildHeader() {
    const header = el("div", "sc-header");
    const titles = el("div", "sc-header-text");
    const title = el("h2", "sc-title", TEXT.title);
    title.id = "sc-title";
    titles.appendChild(title);
    ui.subtitle = el("p", "sc-subtitle", TEXT.subtitle);
    titles.appendChild(ui.subtitle);
    header.appendChild(titles);

    ui.newButton = button("sc-icon-button sc-new-conversation", null, showConfirm);
    ui.newButton.setAttribute("aria-label", TEXT.newConversation);
    ui.newButton.title = TEXT.newConversation;
    ui.newButton.appendChild(icon("restart"));
    header.appendChild(ui.newButton);

    const closeButton = button("sc-icon-button sc-close", null, function () {
      closePanel();
    });
    closeButton.setAttribute("aria-label", TEXT.close);
    closeButton.title = TEXT.close;
    closeButton.appendChild(icon("close"));
    header.appendChild(closeButton);
    return header;
  }

  function buildConfirm() {
    const confirm = el("div", "sc-confirm");
    confirm.setAttribute("role", "group");
    confirm.setAttribute("aria-labelledby", "sc-confirm-question");
    confirm.hidden = true;
    const question = el("p", "sc-confirm-question", TEXT.confirmQuestion);
    question.id = "sc-confirm-question";
    confirm.appendChild(question);
    const actions = el("div", "sc-confirm-actions");
    actions.appendChild(button("sc-button sc-button-primary sc-confirm-yes", TEXT.confirmYes, function () {
      hideConfirm();
      startNewConversation();
      ui.input.focus();
    }));
    ui.confirmNo = button("sc-button sc-confirm-no", TEXT.confirmNo, function () {
      hideConfirm();
      ui.newButton.focus();
    });
    actions.appendChild(ui.confirmNo);
    confirm.appendChild(actions);
    return confirm;
  }

  function buildHelp() {
    const help = el("div", "sc-help");
    help.id = "sc-help";
    help.hidden = true;
    help.setAttribute("role", "region");
    help.setAttribute("aria-labelledby", "sc-help-title");
    const top = el("div", "sc-help-header");
    ui.helpTitle = el("h3", "sc-help-title", TEXT.helpTitle);
    ui.helpTitle.id = "sc-help-title";
    ui.helpTitle.tabIndex = -1;
    top.appendChild(ui.helpTitle);
    top.appendChild(button("sc-button sc-help-close", TEXT.helpClose, closeHelp));
    help.appendChild(top);
    ui.helpBody = el("div", "sc-help-body");
    help.appendChild(ui.helpBody);
    return help;
  }

  function buildComposer() {
    const form = el("form", "sc-composer");
    form.noValidate = true;
    form.addEventListener("submit", onSubmit);

    const label = el("label", "sc-visually-hidden", TEXT.inputLabel);
    label.htmlFor = "sc-input";
    form.appendChild(label);

    const row = el("div", "sc-composer-row");
    ui.input = el("textarea", "sc-input");
    ui.input.id = "sc-input";
    ui.input.rows = 1;
    ui.input.maxLength = MAX_MESSAGE_LENGTH;
    ui.input.placeholder = TEXT.inputPlaceholder;
    ui.input.setAttribute("aria-describedby", "sc-counter");
    ui.input.addEventListener("keydown", onInputKeydown);
    ui.input.addEventListener("input", updateInput);
    ui.input.addEventListener("input", onUserTyping);
    row.appendChild(ui.input);

    const send = el("button", "sc-send");
    send.type = "submit";
    send.setAttribute("aria-label", TEXT.send);
    send.title = TEXT.send;
    send.appendChild(icon("send"));
    row.appendChild(send);
    form.appendChild(row);

    const tools = el("div", "sc-composer-tools");
    const actions = el("div", "sc-composer-actions");
    ui.locate = button("sc-button sc-locate", null, requestLocation);
    ui.locate.appendChild(icon("pin"));
    ui.locateText = el("span", "sc-locate-text", TEXT.locate);
    ui.locate.appendChild(ui.locateText);
    actions.appendChild(ui.locate);
    ui.askCounsellor = button("sc-button sc-ask-counsellor", null, onAskCounsellor);
    ui.askCounsellor.appendChild(icon("person"));
    ui.askCounsellor.appendChild(el("span", "sc-ask-counsellor-text", TEXT.askCounsellor));
    actions.appendChild(ui.askCounsellor);
    tools.appendChild(actions);
    ui.counter = el("p", "sc-counter");
    ui.counter.id = "sc-counter";
    ui.counter.hidden = true;
    tools.appendChild(ui.counter);
    form.appendChild(tools);
    return form;
  }

  function buildWelcome() {
    const welcome = el("div", "sc-welcome");
    welcome.appendChild(el("p", "sc-bubble sc-bubble-bot", TEXT.welcome));
    welcome.appendChild(el("p", "sc-privacy", TEXT.privacy));
    return welcome;
  }

  function buildWidget() {
    const root = el("div", "sc-root");
    ui.root = root;

    ui.launcher = button("sc-launcher", null, function () {
      if (state.isOpen) {
        closePanel();
      } else {
        openPanel(true);
      }
    });
    ui.launcher.setAttribute("aria-controls", "sc-panel");
    ui.launcher.setAttribute("aria-expanded", "false");
    ui.launcher.setAttribute("aria-label", TEXT.launcherLabel);
    ui.launcher.appendChild(icon("chat"));
    ui.launcher.appendChild(el("span", "sc-launcher-text", TEXT.launcher));
    ui.launcher.appendChild(el("span", "sc-launcher-badge"));
    root.appendChild(ui.launcher);

    const panel = el("section", "sc-panel");
    panel.id = "sc-panel";
    panel.hidden = true;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-modal", "false");
    panel.setAttribute("aria-labelledby", "sc-title");
    panel.addEventListener("keydown", onPanelKeydown);
    ui.panel = panel;

    panel.appendChild(buildHeader());

    ui.helpToggle = button("sc-help-toggle", null, function () {
      if (ui.help.hidden) {
        openHelp();
      } else {
        closeHelp();
      }
    });
    ui.helpToggle.setAttribute("aria-controls", "sc-help");
    ui.helpToggle.setAttribute("aria-expanded", "false");
    ui.helpToggle.appendChild(icon("phone"));
    ui.helpToggle.appendChild(document.createTextNode(TEXT.helpButton));
    panel.appendChild(ui.helpToggle);

    ui.confirm = buildConfirm();
    panel.appendChild(ui.confirm);

    ui.status = el("p", "sc-connection");
    ui.status.setAttribute("role", "status");
    ui.status.hidden = true;
    panel.appendChild(ui.status);

    const body = el("div", "sc-body");
    ui.scroll = el("div", "sc-scroll");
    ui.welcome = buildWelcome();
    ui.scroll.appendChild(ui.welcome);
    ui.messages = el("ol", "sc-messages");
    ui.messages.setAttribute("aria-label", TEXT.messagesLabel);
    ui.scroll.appendChild(ui.messages);
    ui.typing = el("div", "sc-typing");
    ui.typing.hidden = true;
    const dots = el("span", "sc-typing-dots");
    dots.setAttribute("aria-hidden", "true");
    dots.appendChild(el("span", "sc-typing-dot"));
    dots.appendChild(el("span", "sc-typing-dot"));
    dots.appendChild(el("span", "sc-typing-dot"));
    ui.typing.appendChild(dots);
    ui.typing.appendChild(visuallyHidden(TEXT.typing));
    ui.scroll.appendChild(ui.typing);
    ui.counsellorTyping = el("div", "sc-counsellor-typing");
    ui.counsellorTyping.hidden = true;
    const counsellorDots = el("span", "sc-typing-dots");
    counsellorDots.setAttribute("aria-hidden", "true");
    counsellorDots.appendChild(el("span", "sc-typing-dot"));
    counsellorDots.appendChild(el("span", "sc-typing-dot"));
    counsellorDots.appendChild(el("span", "sc-typing-dot"));
    ui.counsellorTyping.appendChild(counsellorDots);
    ui.counsellorTyping.appendChild(el("span", "sc-typing-label", TEXT.counsellorTyping));
    ui.scroll.appendChild(ui.counsellorTyping);
    body.appendChild(ui.scroll);
    ui.help = buildHelp();
    body.appendChild(ui.help);
    panel.appendChild(body);

    panel.appendChild(buildComposer());
    root.appendChild(panel);
    document.body.appendChild(root);

    renderTranscript();
    setWithCounsellor(state.withCounsellor);
    // The live region is switched on after the stored transcript is drawn,
    // so that a screen reader does not read the whole history again on reload.
    ui.messages.setAttribute("role", "log");
    ui.messages.setAttribute("aria-live", "polite");
    renderHelplines();
    updateInput();
  }

  /* ---------- Start ---------- */

  function start() {
    loadConversation();
    buildWidget();
    loadSocketIo(connect);
    loadHelplines();
    if (config.openOnLoad) {
      openPanel(false);
    }
  }

  const api = {
    open: function () {
      openPanel(true);
    },
    close: function () {
      closePanel();
    },
    reset: function () {
      if (ui.root) {
        hideConfirm();
        startNewConversation();
      }
    },
  };
  window.SecondeChanceWidget = Object.freeze(api);

  if (!config) {
    return;
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
