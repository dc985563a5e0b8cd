// *Get code* without leaving the page (API-password reset, step 2): the passwords typed stay
// in the browser, since the server never writes a password back into a page. The answer's
// messages and buttons replace the current ones. Any answer but a plain 200 (a password the
// policy refuses, too many codes) is left to an ordinary submission, which shows it whole.
(function () {
  "use strict";
  var form = document.getElementById("step2-form");
  if (!form || !window.fetch || !window.DOMParser) { return; }
  var plain = false;
  form.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (plain || !button || button.value !== "code") { return; }
    event.preventDefault();
    var body = new FormData(form, button);  // before disabling it: a disabled button is not sent
    button.disabled = true;
    // getAttribute: the buttons are named "action", which shadows form.action in the DOM.
    fetch(form.getAttribute("action"), { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) {
        return response.text().then(function (html) { return { ok: response.status === 200, html: html }; });
      })
      .then(function (answer) {
        var page = new DOMParser().parseFromString(answer.html, "text/html");
        var parts = ["step2-messages", "step2-actions"].map(function (id) {
          return [document.getElementById(id), page.getElementById(id)];
        });
        if (!answer.ok || parts.some(function (p) { return !p[0] || !p[1]; })) {
          plain = true;
          button.disabled = false;
          form.requestSubmit(button);
          return;
        }
        parts.forEach(function (p) { p[0].replaceWith(document.adoptNode(p[1])); });
        var code = document.getElementById("code");
        if (code) { code.focus(); }
      })
      .catch(function () { plain = true; button.disabled = false; form.requestSubmit(button); });
  });
})();
