// Passkeys and security keys (WebAuthn). A form marked data-passkey="create" or "get" carries the
// ceremony's options (JSON, as the server made them); on submit this asks the browser, puts its
// answer (JSON) in the form's "credential" field and sends the form. Forms marked
// data-passkey-needs stay hidden where the browser has no WebAuthn: the codes remain.
// base64url is converted by the browser's own PublicKeyCredential JSON methods where it has them
// (WebAuthn Level 3), else with atob/btoa.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) { return; }

  function toBytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(b64 + "===".slice((b64.length + 3) % 4));
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out.buffer;
  }

  function toText(buffer) {
    if (!buffer) { return null; }
    var bytes = new Uint8Array(buffer), raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withBytes(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: toBytes(c.id) }); });
  }

  function creationOptions(json) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) { return PublicKeyCredential.parseCreationOptionsFromJSON(json); }
    return Object.assign({}, json, {
      challenge: toBytes(json.challenge),
      user: Object.assign({}, json.user, { id: toBytes(json.user.id) }),
      excludeCredentials: withBytes(json.excludeCredentials)
    });
  }

  function requestOptions(json) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) { return PublicKeyCredential.parseRequestOptionsFromJSON(json); }
    return Object.assign({}, json, { challenge: toBytes(json.challenge), allowCredentials: withBytes(json.allowCredentials) });
  }

  function answer(credential) {
    if (typeof credential.toJSON === "function") { return credential.toJSON(); }
    var r = credential.response, out = {
      id: credential.id, rawId: toText(credential.rawId), type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toText(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toText(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toText(r.authenticatorData);
      out.response.signature = toText(r.signature);
      out.response.userHandle = toText(r.userHandle);
    }
    return out;
  }

  function ceremony(form) {
    var options = JSON.parse(form.getAttribute("data-options"));
    if (form.getAttribute("data-passkey") === "create") {
      return navigator.credentials.create({ publicKey: creationOptions(options) });
    }
    return navigator.credentials.get({ publicKey: requestOptions(options) });
  }

  function start(form, event) {
    var field = form.querySelector("input[name=credential]");
    if (field.value) { return; }
    event.preventDefault();
    var message = form.querySelector("[data-passkey-message]");
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    ceremony(form).then(function (credential) {
      field.value = JSON.stringify(answer(credential));
      form.submit();
    }).catch(function () {
      button.disabled = false;
      if (message) {
        message.textContent = form.getAttribute("data-passkey-error");
        message.hidden = false;
        message.focus();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-passkey-needs]").forEach(function (node) { node.hidden = false; });
    document.querySelectorAll("form[data-passkey]").forEach(function (form) {
      form.addEventListener("submit", function (event) { start(form, event); });
    });
  });
}());
