// Starts Swagger UI (served by this service under /docs/assets) on the service's OpenAPI.
(function () {
  "use strict";
  var node = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: node.getAttribute("data-url"),
    domNode: node,
    deepLinking: true,
    validatorUrl: null,
  });
})();
