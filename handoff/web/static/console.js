/*
 * Counsellor console of "Seconde chance": live queue, chat view, tools.
 *
 * Loaded by every page (templates/base.html) with `defer`. The page kind is
 * <body data-page="queue|conversation|followups|canned|login|error">.
 *
 * Every text from the server, a user or a counsellor is inserted with
 * textContent and createElement, never as HTML, so markup in a message is
 * shown as typed. The page talks to the server through:
 *   - fetch() with the session's CSRF token in the X-CSRF-Token header;
 *   - the WebSocket /ws (queue updates, messages, typing, delivery receipts),
 *     reconnected with back-off; once a socket gets its first message, the
 *     chat view reloads what it missed from /api/conversations/<id>?after=<last id>.
 * Plain ES2019, no build step.
 */
(function () {
  "use strict";

  const TEXT = {
    queueTitle: "File d'attente – Seconde chance",
    waitingSince: "en attente depuis ",
    activeSince: "en cours depuis ",
    lessThanMinute: "moins d'une minute",
    urgent: "Urgent",
    take: "Prendre",
    takeLabel: "Prendre la conversation de ",
    resume: "Reprendre",
    view: "Voir",
    none: "—",
    followupsNone: "Aucune demande de réponse par e-mail en attente",
    followupsOne: "1 demande de réponse par e-mail en attente",
    followupsMany: " demandes de réponse par e-mail en attente",
    connectionLost: "Connexion au serveur perdue : nouvelle tentative en cours…",
    networkError: "Le serveur ne répond pas. Vérifiez votre connexion, puis réessayez.",
    unexpectedError: "Une erreur est survenue. Réessayez dans un instant.",
    assignedBefore: "La conversation de ",
    assigned: " vous a été transférée. ",
    open: "Ouvrir la conversation",
    loading: "Chargement des messages…",
    noMessages: "Aucun message pour l'instant.",
    liveDivider: "Mise en relation avec un conseiller",
    you: "Vous",
    sent: "envoyé",
    pendingDelivery: "en attente d'envoi",
    delivered: "reçu",
    notDelivered: "non remis. ",
    showAll: "Afficher tout",
    showLess: "Réduire",
    characters: " caractères",
    emptyMessage: "Le message est vide.",
    tooLongStart: "Votre message dépasse ",
    tooLongEnd: " caractères : raccourcissez-le ou envoyez-le en plusieurs fois.",
    typing: " est en train d'écrire…",
    stateClosed: "Conversation terminée.",
    stateHandedBack: "Conversation terminée : rendue à l'assistant.",
    stateQueued: "Cette conversation attend un conseiller.",
    stateOther: "Conversation suivie par ",
    stateOtherEnd: ". Vous pouvez la lire, pas y répondre.",
    noLongerYours: "Cette conversation ne vous est plus attribuée.",
    placeSearching: "Recherche…",
    placeNotFound: "Aucune commune ne correspond. Vérifiez l'orthographe ou essayez le code postal.",
    placeAmbiguous: "Plusieurs communes correspondent : choisissez-en une.",
    placeNear: "Les plus proches de ",
    placeNone: "Aucun lieu de ce type à moins de ",
    placeNoneEnd: " km.",
    placeSend: "Envoyer ce lieu",
    placeSent: "Lieu envoyé : ",
    placeDistance: "à ",
    placeKm: " km",
    placePhone: "Téléphone : ",
    placeCardLabel: "Fiche envoyée : ",
    confirmTransfer: "Transférer la conversation à ",
    confirmHandBack: "Rendre la main à l'assistant ? Le jeune en sera prévenu et vous ne pourrez plus lui écrire dans cette conversation.",
    confirmClose: "Clore la conversation ? Le jeune en sera prévenu ; s'il écrit encore, c'est l'assistant qui répondra.",
    transferredTo: "Conversation transférée.",
  };

  // Messages longer than this are cut, with a button to show them whole.
  const LONG_MESSAGE_CHARS = 2000;
  const COUNTER_FROM = 4000;
  const TYPING_SEND_INTERVAL_MS = 2000;
  const TYPING_IDLE_MS = 4000;
  const USER_TYPING_SHOWN_MS = 6000;
  const SINCE_REFRESH_MS = 30000;
  const RECONNECT_DELAYS_MS = [1000, 2000, 4000, 8000, 10000];
  const CLOSE_SESSION_EXPIRED = 4401;

  const body = document.body;
  const pageKind = body.dataset.page || "";
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrfToken = csrfMeta ? csrfMeta.getAttribute("content") : "";
  const myId = Number(body.dataset.counsellorId || 0);

  /* ---------- Small helpers ---------- */

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

  function byId(id) {
    return document.getElementById(id);
  }

  function show(node, visible) {
    if (node) {
      node.hidden = !visible;
    }
  }

  function characterCount(text) {
    // Code points, as the server counts them (an emoji is one character).
    return Array.from(text).length;
  }

  function formatNumber(value) {
    return new Intl.NumberFormat("fr-FR").format(value);
  }

  function formatSince(iso) {
    const start = Date.parse(iso);
    if (!isFinite(start)) {
      return "";
    }
    const minutes = Math.max(0, Math.floor((Date.now() - start) / 60000));
    if (minutes < 1) {
      return TEXT.lessThanMinute;
    }
    if (minutes < 60) {
      return minutes + " min";
    }
    const rest = minutes % 60;
    return Math.floor(minutes / 60) + " h " + (rest < 10 ? "0" : "") + rest;
  }

  function formatTime(iso) {
    const moment = new Date(iso);
    if (!isFinite(moment.getTime())) {
      return "";
    }
    return moment.toLocaleTimeString("fr-FR", { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Paris" });
  }

  function showAlert(message) {
    const box = byId("page-alert");
    if (!box) {
      window.alert(message);
      return;
    }
    box.textContent = message;
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  }

  function clearAlert() {
    const box = byId("page-alert");
    if (box) {
      box.hidden = true;
      box.textContent = "";
    }
  }

  function showNotice(parts) {
    const box = byId("page-notice");
    if (!box) {
      return;
    }
    box.textContent = "";
    parts.forEach(function (part) {
      box.appendChild(typeof part === "string" ? document.createTextNode(part) : part);
    });
    box.hidden = false;
  }

  /* ---------- HTTP ---------- */

  async function request(method, url, data) {
    const options = {
      method: method,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    };
    if (method !== "GET") {
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRF-Token"] = csrfToken;
      options.body = JSON.stringify(data || {});
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (error) {
      return { ok: false, status: 0, data: { error: TEXT.networkError } };
    }
    if (response.status === 401) {
      window.location.assign("/login");
      return { ok: false, status: 401, data: {} };
    }
    let payload = {};
    try {
      payload = await response.json();
    } catch (error) {
      payload = {};
    }
    if (!response.ok && !payload.error) {
      payload.error = TEXT.unexpectedError;
    }
    return { ok: response.ok, status: response.status, data: payload };
  }

  function getJSON(url) {
    return request("GET", url);
  }

  function postJSON(url, data) {
    return request("POST", url, data);
  }

  /* ---------- WebSocket ---------- */

  function connectSocket(conversationId, handlers) {
    let attempt = 0;
    let socket = null;
    let stopped = false;
    const status = byId("connection-status");

    function url() {
      const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
      let address = scheme + "//" + window.location.host + "/ws?csrf_token=" + encodeURIComponent(csrfToken);
      if (conversationId) {
        address += "&conversation=" + encodeURIComponent(conversationId);
      }
      return address;
    }

    function open() {
      socket = new WebSocket(url());
      let ready = false;
      socket.addEventListener("open", function () {
        attempt = 0;
        show(status, false);
      });
      socket.addEventListener("message", function (event) {
        let data;
        try {
          data = JSON.parse(event.data);
        } catch (error) {
          return;
        }
        // The server registers the socket before its first message: from
        // then on no event is missed, so that is when the page catches up.
        if (!ready) {
          ready = true;
          if (handlers.onReady) {
            handlers.onReady();
          }
        }
        if (data && data.type === "session_expired") {
          stopped = true;
          window.location.assign("/login");
          return;
        }
        if (data && handlers.onMessage) {
          handlers.onMessage(data);
        }
      });
      socket.addEventListener("close", function (event) {
        if (stopped) {
          return;
        }
        if (event.code === CLOSE_SESSION_EXPIRED) {
          window.location.assign("/login");
          return;
        }
        if (status) {
          status.textContent = TEXT.connectionLost;
          status.hidden = false;
        }
        const delay = RECONNECT_DELAYS_MS[Math.min(attempt, RECONNECT_DELAYS_MS.length - 1)];
        attempt += 1;
        window.setTimeout(async function () {
          // A refused handshake gives no status to the page: ask the API
          // whether the session is still valid (a 401 leads to /login).
          if (attempt > 1) {
            await getJSON("/api/queue");
          }
          open();
        }, delay);
      });
    }

    open();
    window.addEventListener("pagehide", function () {
      stopped = true;
      if (socket) {
        socket.close(1000);
      }
    });

    return {
      send: function (data) {
        if (socket && socket.readyState === WebSocket.OPEN) {
          socket.send(JSON.stringify(data));
        }
      },
    };
  }

  /* ---------- Shared page parts ---------- */

  function updateFollowupCount(count) {
    const link = byId("followups-link");
    if (link) {
      if (count === 0) {
        link.textContent = TEXT.followupsNone;
      } else if (count === 1) {
        link.textContent = TEXT.followupsOne;
      } else {
        link.textContent = count + TEXT.followupsMany;
      }
    }
    const navLink = document.querySelector('.main-nav a[href="/followups"]');
    if (!navLink) {
      return;
    }
    let badge = byId("nav-followups-count");
    if (count > 0) {
      if (!badge) {
        badge = el("span", "nav-count");
        badge.id = "nav-followups-count";
        navLink.appendChild(document.createTextNode(" "));
        navLink.appendChild(badge);
      }
      badge.textContent = String(count);
    } else if (badge) {
      badge.remove();
    }
  }

  function handleCommonMessage(data) {
    if (data.type === "queue" && typeof data.pending_followups === "number") {
      updateFollowupCount(data.pending_followups);
    } else if (data.type === "assigned") {
      const link = el("a", "", TEXT.open);
      link.href = "/conversations/" + encodeURIComponent(data.conversation_id);
      showNotice([TEXT.assignedBefore + String(data.pseudonym || "") + TEXT.assigned, link]);
    }
  }

  function refreshSinceLabels() {
    document.querySelectorAll(".since[data-since]").forEach(function (node) {
      const label = formatSince(node.dataset.since);
      if (label) {
        node.textContent = (node.dataset.prefix || "") + label;
      }
    });
  }

  // Buttons with data-confirm ask before their form is sent.
  document.addEventListener("submit", function (event) {
    const button = event.submitter;
    if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
    }
  });

  async function claim(conversationId) {
    clearAlert();
    const result = await postJSON("/conversations/" + encodeURIComponent(conversationId) + "/claim");
    if (result.ok) {
      window.location.assign(result.data.redirect);
    } else if (result.status !== 401) {
      showAlert(result.data.error);
    }
  }

  function interceptClaimForms(root) {
    root.addEventListener("submit", function (event) {
      const form = event.target;
      if (!form.classList || !form.classList.contains("claim-form")) {
        return;
      }
      event.preventDefault();
      const match = /\/conversations\/([0-9a-f]+)\/claim$/.exec(form.getAttribute("action") || "");
      if (match) {
        claim(match[1]);
      }
    });
  }

  /* ---------- Queue page ---------- */

  function buildClaimForm(conversation) {
    const form = el("form", "claim-form");
    form.method = "post";
    form.action = "/conversations/" + conversation.id + "/claim";
    const token = el("input");
    token.type = "hidden";
    token.name = "csrf_token";
    token.value = csrfToken;
    const button = el("button", "button-primary", TEXT.take);
    button.type = "submit";
    button.setAttribute("aria-label", TEXT.takeLabel + conversation.pseudonym);
    form.appendChild(token);
    form.appendChild(button);
    return form;
  }

  function buildQueueRow(conversation) {
    const row = el("tr", "queue-row" + (conversation.urgent ? " is-urgent" : ""));
    row.dataset.conversationId = conversation.id;

    const who = el("th");
    who.scope = "row";
    who.appendChild(el("span", "pseudonym", conversation.pseudonym));
    if (conversation.urgent) {
      who.appendChild(document.createTextNode(" "));
      who.appendChild(el("span", "badge badge-urgent", TEXT.urgent));
    }
    row.appendChild(who);

    const active = conversation.status === "active";
    const since = active && conversation.claimed_at ? conversation.claimed_at : conversation.queued_at;
    const waitCell = el("td");
    const wait = el("span", "since");
    wait.dataset.since = since;
    wait.dataset.prefix = active ? TEXT.activeSince : TEXT.waitingSince;
    wait.textContent = wait.dataset.prefix + formatSince(since);
    waitCell.appendChild(wait);
    row.appendChild(waitCell);

    row.appendChild(el("td", "channel", conversation.channel_label));
    row.appendChild(el("td", "", conversation.topic || TEXT.none));
    row.appendChild(el("td", "", conversation.location_label || TEXT.none));
    const statusCell = el("td");
    statusCell.appendChild(el("span", "status status-" + conversation.status, conversation.status_label));
    row.appendChild(statusCell);
    row.appendChild(el("td", "", conversation.counsellor_name || TEXT.none));

    const actions = el("td", "actions");
    if (conversation.status === "queued") {
      actions.appendChild(buildClaimForm(conversation));
    } else {
      const mine = conversation.counsellor_id === myId;
      const link = el("a", mine ? "button-link" : "button-link button-secondary", mine ? TEXT.resume : TEXT.view);
      link.href = "/conversations/" + conversation.id;
      actions.appendChild(link);
    }
    row.appendChild(actions);
    return row;
  }

  // The fields that a queue row shows: a change elsewhere (the time of the
  // young person's last message) does not rebuild the row.
  function queueRowState(conversation) {
    return JSON.stringify([
      conversation.id, conversation.pseudonym, conversation.urgent, conversation.status,
      conversation.status_label, conversation.claimed_at, conversation.queued_at,
      conversation.channel_label, conversation.topic, conversation.location_label,
      conversation.counsellor_name, conversation.counsellor_id,
    ]);
  }

  function renderQueue(conversations) {
    const tbody = byId("queue-body");
    if (!tbody) {
      return;
    }
    // Keep the keyboard focus on the same conversation's button after the refresh.
    const focused = document.activeElement;
    const focusedRow = focused && focused.closest ? focused.closest("tr[data-conversation-id]") : null;
    const focusedId = focusedRow ? focusedRow.dataset.conversationId : null;

    // The tab title shows how many young people wait, for a counsellor busy in another tab.
    const waiting = conversations.filter(function (c) { return c.status === "queued"; }).length;
    document.title = (waiting ? "(" + waiting + ") " : "") + TEXT.queueTitle;

    // A row whose shown fields did not change is kept as it is, so that a click
    // that straddles a refresh (pressed on the old button, released on a new
    // one) is not lost.
    const previous = new Map();
    tbody.querySelectorAll("tr[data-conversation-id]").forEach(function (row) {
      previous.set(row.dataset.conversationId, row);
    });
    const rows = conversations.map(function (conversation) {
      const state = queueRowState(conversation);
      const unchanged = previous.get(conversation.id);
      if (unchanged && unchanged.dataset.state === state) {
        return unchanged;
      }
      const row = buildQueueRow(conversation);
      row.dataset.state = state;
      return row;
    });
    // Rows that are gone or outdated leave first; the kept rows then keep
    // their places, and only new rows are inserted between them.
    const current = new Set(rows);
    Array.from(tbody.children).forEach(function (row) {
      if (!current.has(row)) {
        row.remove();
      }
    });
    rows.forEach(function (row, index) {
      const atIndex = tbody.children[index];
      if (atIndex !== row) {
        tbody.insertBefore(row, atIndex || null);
      }
    });
    show(byId("queue-table"), conversations.length > 0);
    show(byId("queue-empty"), conversations.length === 0);

    if (focusedId) {
      const again = tbody.querySelector('tr[data-conversation-id="' + focusedId + '"] button, tr[data-conversation-id="' + focusedId + '"] a');
      if (again) {
        again.focus();
      }
    }
  }

  function initQueue() {
    interceptClaimForms(document);
    connectSocket(null, {
      onMessage: function (data) {
        handleCommonMessage(data);
        if (data.type === "queue" && Array.isArray(data.conversations)) {
          renderQueue(data.conversations);
        }
      },
    });
    window.setInterval(refreshSinceLabels, SINCE_REFRESH_MS);
    refreshSinceLabels();
  }

  /* ---------- Chat view ---------- */

  function buildCard(card) {
    const box = el("div", "message-card");
    box.appendChild(el("p", "card-title", card.name || ""));
    if (card.type_label) {
      box.appendChild(el("p", "card-type", card.type_label));
    }
    const cityLine = [card.postal_code, card.commune].filter(Boolean).join(" ");
    const address = [card.address, cityLine].filter(Boolean).join(", ");
    if (address) {
      box.appendChild(el("p", "card-address", address));
    }
    if (typeof card.distance_km === "number") {
      box.appendChild(el("p", "card-distance",
        TEXT.placeDistance + new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 1 }).format(card.distance_km) + TEXT.placeKm));
    }
    if (card.phone) {
      box.appendChild(el("p", "card-phone", TEXT.placePhone + card.phone));
    }
    return box;
  }

  function buildMessageText(text) {
    const wrap = el("div", "message-body");
    const paragraph = el("p", "message-text");
    wrap.appendChild(paragraph);
    const total = characterCount(text);
    if (total <= LONG_MESSAGE_CHARS) {
      paragraph.textContent = text;
      return wrap;
    }
    const short = Array.from(text).slice(0, LONG_MESSAGE_CHARS).join("") + "…";
    paragraph.textContent = short;
    const toggle = el("button", "button-quiet message-toggle",
      TEXT.showAll + " (" + formatNumber(total) + TEXT.characters + ")");
    toggle.type = "button";
    toggle.setAttribute("aria-expanded", "false");
    toggle.addEventListener("click", function () {
      const expanded = toggle.getAttribute("aria-expanded") === "true";
      paragraph.textContent = expanded ? short : text;
      toggle.setAttribute("aria-expanded", expanded ? "false" : "true");
      toggle.textContent = expanded ? TEXT.showAll + " (" + formatNumber(total) + TEXT.characters + ")" : TEXT.showLess;
    });
    wrap.appendChild(toggle);
    return wrap;
  }

  function buildMessage(message) {
    const item = el("li", "message message-" + message.author);
    item.dataset.messageId = String(message.id);
    const mine = message.author === "counsellor" && message.counsellor_id === myId;
    if (mine) {
      item.classList.add("message-mine");
    }

    const head = el("p", "message-head");
    head.appendChild(el("span", "message-author", mine ? TEXT.you : message.author_label));
    const time = el("time", "message-time", formatTime(message.created_at));
    time.dateTime = message.created_at || "";
    head.appendChild(time);
    item.appendChild(head);

    if (message.card) {
      item.appendChild(el("p", "message-text", TEXT.placeCardLabel + (message.card.name || "")));
      item.appendChild(buildCard(message.card));
    } else {
      item.appendChild(buildMessageText(message.text || ""));
    }

    if (message.author === "counsellor" || message.author === "system") {
      const status = el("p", "delivery", message.delivered ? TEXT.delivered : TEXT.sent);
      status.dataset.state = message.delivered ? "delivered" : "sent";
      if (!message.delivered && message.delivery_error) {
        // Recorded by the server, so it shows again after a reload.
        status.textContent = TEXT.notDelivered + String(message.delivery_error);
        status.dataset.state = "failed";
      }
      item.appendChild(status);
    }
    return item;
  }

  function initConversation() {
    const root = byId("chat");
    const conversationId = root.dataset.conversationId;
    const pseudonym = root.dataset.pseudonym;
    const maxLength = Number(root.dataset.maxLength || 5000);
    const transcript = byId("transcript");
    const typingNode = byId("user-typing");
    const replyForm = byId("reply-form");
    const replyText = byId("reply-text");
    const replyError = byId("reply-error");
    const replyCounter = byId("reply-counter");
    const replySend = byId("reply-send");
    const tools = byId("chat-tools");

    let queuedAt = Date.parse(root.dataset.queuedAt);
    let lastId = 0;
    let loaded = false;
    let loading = null;
    let loadAgain = false;
    let wasMine = !tools.hidden;
    let typingHideTimer = null;
    let lastTypingSent = 0;
    let typingStopTimer = null;
    let sendingTyping = false;

    const socket = connectSocket(conversationId, {
      onReady: function () {
        load();
      },
      onMessage: function (data) {
        handleCommonMessage(data);
        if (data.conversation_id && data.conversation_id !== conversationId) {
          return;
        }
        if (data.type === "message" && data.message && data.message.conversation_id === conversationId) {
          addMessage(data.message);
          if (data.message.author === "user") {
            show(typingNode, false);
          }
        } else if (data.type === "conversation_changed") {
          load();
        } else if (data.type === "user_typing") {
          showUserTyping();
        } else if (data.type === "delivered" && Array.isArray(data.message_ids)) {
          markDelivered(data.message_ids);
        } else if (data.type === "delivery_failed" && Array.isArray(data.message_ids)) {
          markNotDelivered(data.message_ids, String(data.reason || ""));
        }
      },
    });

    function showUserTyping() {
      typingNode.textContent = pseudonym + TEXT.typing;
      show(typingNode, true);
      window.clearTimeout(typingHideTimer);
      typingHideTimer = window.setTimeout(function () {
        show(typingNode, false);
      }, USER_TYPING_SHOWN_MS);
    }

    function markDelivered(ids) {
      ids.forEach(function (id) {
        const status = transcript.querySelector('li[data-message-id="' + Number(id) + '"] .delivery');
        if (status) {
          status.textContent = TEXT.delivered;
          status.dataset.state = "delivered";
        }
      });
    }

    function markNotDelivered(ids, reason) {
      ids.forEach(function (id) {
        const status = transcript.querySelector('li[data-message-id="' + Number(id) + '"] .delivery');
        if (status && status.dataset.state !== "delivered") {
          status.textContent = TEXT.notDelivered + reason;
          status.dataset.state = "failed";
        }
      });
    }

    function addMessage(message) {
      if (transcript.querySelector('li[data-message-id="' + Number(message.id) + '"]')) {
        return;
      }
      const placeholder = transcript.querySelector(".transcript-loading, .transcript-empty");
      if (placeholder) {
        placeholder.remove();
      }
      const node = buildMessage(message);
      let before = null;
      if (message.id < lastId) {
        // A late message goes in order, before the first newer one.
        before = Array.from(transcript.querySelectorAll("li[data-message-id]")).find(function (item) {
          return Number(item.dataset.messageId) > message.id;
        }) || null;
      }
      const created = Date.parse(message.created_at);
      if (!transcript.querySelector(".divider") && isFinite(queuedAt) && created > queuedAt) {
        const divider = el("li", "divider", TEXT.liveDivider);
        divider.setAttribute("role", "separator");
        transcript.insertBefore(divider, before);
      }
      transcript.insertBefore(node, before);
      lastId = Math.max(lastId, message.id);
      if (!before) {
        // Only the transcript scrolls: the page stays where the counsellor put it.
        transcript.scrollTop = transcript.scrollHeight;
      }
    }

    async function load() {
      if (loading) {
        // The request in flight may have read the state before the change
        // that asks for this load: fetch once more when it ends.
        loadAgain = true;
        return loading;
      }
      loading = (async function () {
        const result = await getJSON("/api/conversations/" + conversationId + "?after=" + lastId);
        if (!result.ok) {
          if (result.status !== 401) {
            showAlert(result.data.error);
          }
          return;
        }
        applyState(result.data.conversation);
        result.data.messages.forEach(addMessage);
        if (!loaded) {
          loaded = true;
          if (!transcript.querySelector("li[data-message-id]")) {
            transcript.replaceChildren(el("li", "transcript-empty", TEXT.noMessages));
          } else {
            const placeholder = transcript.querySelector(".transcript-loading");
            if (placeholder) {
              placeholder.remove();
            }
          }
        }
      })();
      try {
        await loading;
      } finally {
        loading = null;
      }
      if (loadAgain) {
        loadAgain = false;
        await load();
      }
    }

    function applyState(conversation) {
      const mine = conversation.status === "active" && conversation.counsellor_id === myId;
      queuedAt = Date.parse(conversation.queued_at);
      const statusLabel = byId("status-label");
      statusLabel.textContent = conversation.status_label;
      statusLabel.className = "status status-" + conversation.status;
      byId("owner-name").textContent = conversation.counsellor_name || TEXT.none;
      show(byId("urgent-badge"), conversation.urgent);
      show(byId("urgent-help"), conversation.urgent);

      let state = "";
      if (conversation.status === "closed") {
        state = conversation.handed_back ? TEXT.stateHandedBack : TEXT.stateClosed;
      } else if (conversation.status === "queued") {
        state = TEXT.stateQueued;
      } else if (!mine) {
        state = TEXT.stateOther + (conversation.counsellor_name || "") + TEXT.stateOtherEnd;
      }
      byId("state-text").textContent = state;
      byId("close-note-text").textContent = conversation.close_note || "";
      show(byId("close-note"), Boolean(conversation.close_note));
      show(byId("banner-claim"), conversation.status === "queued");

      show(replyForm, mine);
      show(tools, mine);
      if (wasMine && !mine) {
        showNotice([TEXT.noLongerYours]);
      }
      wasMine = mine;
    }

    /* Reply box */

    function updateCounter() {
      const count = characterCount(replyText.value);
      if (count > maxLength) {
        replyCounter.textContent = formatNumber(count) + " / " + formatNumber(maxLength);
        replyError.textContent = TEXT.tooLongStart + formatNumber(maxLength) + TEXT.tooLongEnd;
        show(replyError, true);
        replySend.disabled = true;
        return;
      }
      replySend.disabled = false;
      replyCounter.textContent = count >= COUNTER_FROM ? formatNumber(count) + " / " + formatNumber(maxLength) : "";
      if (replyError.dataset.kind !== "server") {
        show(replyError, false);
      }
    }

    function sendTyping(typing) {
      socket.send({ type: "typing", conversation_id: conversationId, typing: typing });
      sendingTyping = typing;
    }

    replyText.addEventListener("input", function () {
      replyError.dataset.kind = "";
      updateCounter();
      const now = Date.now();
      if (replyText.value && now - lastTypingSent > TYPING_SEND_INTERVAL_MS) {
        lastTypingSent = now;
        sendTyping(true);
      }
      window.clearTimeout(typingStopTimer);
      typingStopTimer = window.setTimeout(function () {
        if (sendingTyping) {
          lastTypingSent = 0;
          sendTyping(false);
        }
      }, TYPING_IDLE_MS);
    });

    replyText.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        replyForm.requestSubmit();
      }
    });

    replyForm.addEventListener("submit", async function (event) {
      event.preventDefault();
      const text = replyText.value;
      if (!text.trim()) {
        replyError.textContent = TEXT.emptyMessage;
        show(replyError, true);
        return;
      }
      if (characterCount(text) > maxLength) {
        updateCounter();
        return;
      }
      replySend.disabled = true;
      const result = await postJSON("/conversations/" + conversationId + "/messages", { text: text });
      replySend.disabled = false;
      if (!result.ok) {
        replyError.textContent = result.data.error;
        replyError.dataset.kind = "server";
        show(replyError, true);
        if (result.status === 409 || result.status === 410) {
          load();
        }
        return;
      }
      replyText.value = "";
      updateCounter();
      window.clearTimeout(typingStopTimer);
      if (sendingTyping) {
        lastTypingSent = 0;
        sendTyping(false);
      }
      addMessage(result.data.message);
      if (!result.data.sent) {
        const status = transcript.querySelector('li[data-message-id="' + result.data.message.id + '"] .delivery');
        // A delivery_failed event that arrived before this response keeps its reason.
        if (status && status.dataset.state === "sent") {
          status.textContent = TEXT.pendingDelivery;
        }
      }
      replyText.focus();
    });

    /* Canned replies */

    document.querySelectorAll(".canned-insert").forEach(function (button) {
      button.addEventListener("click", function () {
        const start = replyText.selectionStart;
        const end = replyText.selectionEnd;
        const current = replyText.value;
        // After text that does not end with a space, start with one.
        const before = current.slice(0, start);
        const separator = before && !/\s$/.test(before) ? " " : "";
        const insert = separator + (button.dataset.text || "");
        replyText.value = current.slice(0, start) + insert + current.slice(end);
        const caret = start + insert.length;
        replyText.focus();
        replyText.setSelectionRange(caret, caret);
        updateCounter();
      });
    });

    /* Place search */

    const placeForm = byId("place-form");
    const placeResults = byId("place-results");

    async function searchPlaces(params) {
      placeResults.replaceChildren(el("p", "hint", TEXT.placeSearching));
      const query = new URLSearchParams(params);
      query.set("type", byId("place-type").value);
      const result = await getJSON("/api/places?" + query.toString());
      placeResults.textContent = "";
      if (!result.ok) {
        placeResults.appendChild(el("p", "field-error", result.data.error));
        return;
      }
      const data = result.data;
      if (data.status === "not_found") {
        placeResults.appendChild(el("p", "hint", TEXT.placeNotFound));
      } else if (data.status === "ambiguous") {
        placeResults.appendChild(el("p", "hint", TEXT.placeAmbiguous));
        const list = el("ul", "candidate-list");
        data.candidates.forEach(function (candidate) {
          const button = el("button", "button-secondary", candidate.label);
          button.type = "button";
          button.addEventListener("click", function () {
            searchPlaces({ insee: candidate.insee });
          });
          const item = el("li");
          item.appendChild(button);
          list.appendChild(item);
        });
        placeResults.appendChild(list);
      } else if (!data.places.length) {
        placeResults.appendChild(el("p", "hint", TEXT.placeNone + formatNumber(data.radius_km) + TEXT.placeNoneEnd));
      } else {
        placeResults.appendChild(el("p", "hint", TEXT.placeNear + data.location + " :"));
        const list = el("ul", "place-list");
        data.places.forEach(function (place) {
          const item = el("li", "place-item");
          item.appendChild(buildCard(place.card));
          const button = el("button", "button-primary", TEXT.placeSend);
          button.type = "button";
          button.setAttribute("aria-label", TEXT.placeSend + " : " + (place.card.name || ""));
          button.addEventListener("click", async function () {
            button.disabled = true;
            const sent = await postJSON("/conversations/" + conversationId + "/messages",
              { place_id: place.id, insee: data.insee });
            button.disabled = false;
            if (!sent.ok) {
              showAlert(sent.data.error);
              return;
            }
            addMessage(sent.data.message);
            showNotice([TEXT.placeSent + (place.card.name || "")]);
          });
          item.appendChild(button);
          list.appendChild(item);
        });
        placeResults.appendChild(list);
      }
    }

    placeForm.addEventListener("submit", function (event) {
      event.preventDefault();
      searchPlaces({ q: byId("place-query").value });
    });

    /* Transfer, hand-back, close */

    const transferForm = byId("transfer-form");
    if (transferForm) {
      transferForm.addEventListener("submit", async function (event) {
        event.preventDefault();
        const select = byId("transfer-target");
        const name = select.options[select.selectedIndex].textContent;
        if (!window.confirm(TEXT.confirmTransfer + name + " ?")) {
          return;
        }
        clearAlert();
        const result = await postJSON("/conversations/" + conversationId + "/transfer",
          { counsellor_id: Number(select.value) });
        if (result.ok) {
          window.location.assign(result.data.redirect);
        } else {
          showAlert(result.data.error);
        }
      });
    }

    byId("hand-back-form").addEventListener("submit", async function (event) {
      event.preventDefault();
      if (!window.confirm(TEXT.confirmHandBack)) {
        return;
      }
      clearAlert();
      const result = await postJSON("/conversations/" + conversationId + "/hand-back");
      if (result.ok) {
        window.location.assign(result.data.redirect);
      } else {
        showAlert(result.data.error);
      }
    });

    byId("close-form").addEventListener("submit", async function (event) {
      event.preventDefault();
      if (!window.confirm(TEXT.confirmClose)) {
        return;
      }
      clearAlert();
      const result = await postJSON("/conversations/" + conversationId + "/close",
        { note: byId("close-note-input").value });
      if (result.ok) {
        window.location.assign(result.data.redirect);
      } else {
        showAlert(result.data.error);
      }
    });

    interceptClaimForms(byId("state-banner"));
    updateCounter();
  }

  /* ---------- Start ---------- */

  if (pageKind === "queue") {
    initQueue();
  } else if (pageKind === "conversation") {
    initConversation();
  } else if (csrfToken && (pageKind === "followups" || pageKind === "canned" || pageKind === "error")) {
    // Other pages of a logged-in counsellor keep a socket too: it keeps
    // their conversations assigned while they answer e-mails.
    connectSocket(null, { onMessage: handleCommonMessage });
  }
})();
