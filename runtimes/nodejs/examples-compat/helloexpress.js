'use strict';
// A function written for the original runtime, which handed functions Express's
// req and res: it uses their members to redirect and to set a cookie.

module.exports = {
  foo: (event) => {
    const req = event.extensions.request;
    const res = event.extensions.response;
    if (req.params[0] === '/old') return res.redirect(301, '/new');
    res.cookie('visited', 'yes', { httpOnly: true });
    return `hello ${req.hostname} from ${req.ip}, you asked for ${req.originalUrl}`;
  },
};
