// After a failed action the page comes back scrolled to the action's form; move keyboard and
// screen-reader focus to its error so that it is noticed where it happened.
document.addEventListener("DOMContentLoaded", function () {
  var target = document.querySelector("[data-focus-on-load]");
  if (target) {
    target.focus();
    target.scrollIntoView({block: "center"});
  }
});
