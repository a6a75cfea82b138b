// The trends page's charts: each box holds its plotly figure as JSON; draw it with the
// locally served plotly.js and the page's modebar configuration (no logo, no outside links).
(function () {
  "use strict";
  var holder = document.getElementById("trends-config");
  var config = holder ? JSON.parse(holder.getAttribute("data-config")) : {};
  var boxes = document.querySelectorAll(".trend-chart");
  for (var i = 0; i < boxes.length; i++) {
    var figure = JSON.parse(boxes[i].getAttribute("data-figure"));
    window.Plotly.newPlot(boxes[i], figure.data, figure.layout, config);
  }
})();
