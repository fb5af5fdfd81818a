// Submits the response_mode=form_post form automatically; the button remains for no-script browsers.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("form-post");
  if (form) { form.submit(); }
});
