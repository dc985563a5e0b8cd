// "Show passwords" on the password forms (the guides' *Afficher les mots de passe en clair*):
// the box shows or hides every password field of its form at once. It is hidden in the page
// and shown here, so that nobody meets a box that does nothing. Submitting hides the
// passwords again, so that no browser files one as ordinary text.
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("[data-show-passwords]"), function (box) {
    var form = box.closest("form");
    var check = box.querySelector("input[type=checkbox]");
    if (!form || !check) { return; }
    var inputs = Array.prototype.slice.call(form.querySelectorAll("input[type=password]"));
    function apply() {
      inputs.forEach(function (input) { input.type = check.checked ? "text" : "password"; });
    }
    check.addEventListener("change", apply);
    form.addEventListener("submit", function () { check.checked = false; apply(); });
    check.checked = false;  // a box the back button restored ticked would not match the fields
    box.hidden = false;
  });
}());
