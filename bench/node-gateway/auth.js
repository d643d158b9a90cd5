// The seed article's "correct pattern", verbatim: verify with jsonwebtoken, forward only the user
// context as x-user-* headers. JWT_SECRET holds the RS256 public key (PEM) in the benchmark;
// jsonwebtoken then allows only RSA algorithms for it.
import jwt from 'jsonwebtoken';

export function authMiddleware(req, res, next) {
  const authHeader = req.headers.authorization;

  if (!authHeader || !authHeader.startsWith('Bearer ')) {
    return res.status(401).json({ error: 'Missing or invalid token' });
  }

  const token = authHeader.substring(7);

  try {
    const decoded = jwt.verify(token, process.env.JWT_SECRET);

    // CORRECT: Forward only the user context, not the token
    req.user = {
      id: decoded.sub,
      email: decoded.email,
      roles: decoded.roles || [],
      permissions: decoded.permissions || []
    };

    // Add user context to headers for downstream services
    req.headers['x-user-id'] = decoded.sub;
    req.headers['x-user-email'] = decoded.email;
    req.headers['x-user-roles'] = (decoded.roles || []).join(',');

    next();
  } catch (err) {
    return res.status(401).json({ error: 'Invalid token' });
  }
}
