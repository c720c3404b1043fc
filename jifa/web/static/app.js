// Behaviour shared by every page; no inline script anywhere (the Content-Security-Policy
// allows scripts from this site only).
(function () {
  "use strict";
  // keep the current tab of a sideways-scrolling area menu in view (phones)
  document.querySelectorAll(".subnav [aria-current=page]").forEach(function (a) {
    a.parentNode.scrollLeft = a.offsetLeft - a.parentNode.offsetLeft - 16;
  });
  // <form data-confirm="..."> asks before it is sent
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
  // <button data-print> prints the page
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-print]");
    if (button) {
      event.preventDefault();
      window.print();
    }
  });
})();
