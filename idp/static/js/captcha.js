// *Load another image* without leaving the page: a new challenge from POST /captcha/new (the
// form's CSRF token in a header), its image and sound swapped in and the form's hidden
// challenge id changed with them; everything else typed in the form stays. Without
// JavaScript, or if the request fails (too many challenges, an expired session), the link
// reloads the page, which draws a new challenge as well.
(function () {
  "use strict";
  var link = document.getElementById("captcha-reload");
  var form = link && link.closest("form");
  if (!form || !window.fetch) { return; }
  var challenge = form.querySelector("input[name=captcha_id]");
  var token = form.querySelector("input[name=csrf_token]");
  var answer = form.querySelector("input[name=captcha]");
  var image = document.getElementById("captcha-image");
  var audio = document.getElementById("captcha-audio");
  var status = document.getElementById("captcha-status");
  if (!challenge || !token || !image) { return; }
  link.addEventListener("click", function (event) {
    event.preventDefault();
    fetch(link.getAttribute("data-new"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": token.value, "Accept": "application/json" }
    })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (fresh) {
        challenge.value = fresh.id;
        image.src = fresh.image;
        if (audio) { audio.href = fresh.audio; }
        if (answer) { answer.value = ""; }  // typed for the old image
        if (status) {  // emptied first: the same words again are announced again
          status.textContent = "";
          window.setTimeout(function () { status.textContent = status.getAttribute("data-reloaded"); }, 100);
        }
      })
      .catch(function () { window.location.assign(link.href); });
  });
}());
