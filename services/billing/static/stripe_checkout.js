// The Stripe payment page: Stripe.js collects the card in its own frame and confirms the
// PaymentIntent the server created; the server learns the outcome from Stripe's signed webhook.
(function () {
  "use strict";
  var form = document.getElementById("payment-form");
  if (!form || typeof Stripe !== "function") { return; }
  var stripe = Stripe(form.dataset.publishableKey);
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  var message = document.getElementById("payment-message");
  var button = form.querySelector("button");

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    message.textContent = "";
    var options = { payment_method: { card: card, billing_details: { name: form.elements.name.value } } };
    if (form.elements.save_card.checked) { options.setup_future_usage = "off_session"; }
    stripe.confirmCardPayment(form.dataset.clientSecret, options).then(function (result) {
      if (result.error) {
        message.textContent = result.error.message;
        button.disabled = false;
        return;
      }
      window.location.assign(form.dataset.returnUrl);
    });
  });
}());
