// Optional: saves a draft a moment after each change. The form works the same without it.
(function () {
  "use strict";
  var form = document.querySelector("form.survey-form");
  if (!form || !window.fetch || !window.URLSearchParams) { return; }
  var status = document.getElementById("autosave-status");
  var timer = null;
  function save() {
    var data = new URLSearchParams(new FormData(form));
    data.set("action", "save");
    fetch(form.action, {
      method: "POST",
      body: data,
      headers: { "X-Autosave": "1" },
      credentials: "same-origin"
    }).then(function (r) {
      if (status && r.status === 204) { status.textContent = "Черновик сохранён автоматически."; }
    }).catch(function () { /* the "save draft" button still works */ });
  }
  function later() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(save, 1500);
  }
  form.addEventListener("change", later);
  form.addEventListener("input", later);
})();
