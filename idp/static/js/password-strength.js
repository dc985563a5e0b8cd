// Live password level for the change-password pages. The server applies the same policy
// (idp/security/password_policy.py) and is the one that decides; this only guides typing.
(function () {
  "use strict";
  var box = document.getElementById("password-policy");
  var input = document.getElementById("password");
  var level = document.getElementById("password-level");
  if (!box || !input || !level) { return; }
  var login = (box.getAttribute("data-login") || "").toLowerCase();
  var tests = {
    lowercase: function (p) { return p !== p.toUpperCase(); },
    uppercase: function (p) { return p !== p.toLowerCase(); },
    digit: function (p) { return /[0-9]/.test(p); },
    special: function (p) { return /[#!.@_\-\/]/.test(p); }
  };
  function update() {
    var p = input.value;
    var all = true;
    Object.keys(tests).forEach(function (rule) {
      var ok = tests[rule](p);
      all = all && ok;
      var item = box.querySelector('[data-rule="' + rule + '"]');
      if (item) { item.className = ok ? "met" : "unmet"; }
    });
    if (login && p.toLowerCase().indexOf(login) !== -1) { all = false; }
    var name = !all || p.length < 8 ? "none" : (p.length >= 10 ? "strong" : "medium");
    level.textContent = p ? box.getAttribute("data-label-" + name) : "";
    level.className = "level level-" + name;
  }
  input.addEventListener("input", update);
  update();
}());
